"""HTTP endpoints of the OpenAI-compatible front: ``/v1/models`` and ``/v1/chat/completions``.

Every error on these routes is in OpenAI's format (their own exception handlers below; the API-key
gate does the same for its 401). They stay out of ``/schema``: OpenAI's published API describes
them, and the service's own document promises problem+json errors everywhere it lists.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.response import Stream
from litestar.types import ExceptionHandlersMap

from langchain_platform.access import principal_of, require_agents_scope
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.domain_errors import DomainError
from langchain_platform.errors import ServiceUnavailable
from langchain_platform.guards import require_agents_available
from langchain_platform.openai_compat.completions import (
    THREAD_HEADER,
    chunk_stream,
    completion,
    decode_call,
    start_run,
)
from langchain_platform.openai_compat.errors import OpenAIError, domain_error, openai_error
from langchain_platform.openai_compat.models import model, model_list
from langchain_platform.openai_compat.schemas import ChatCompletion, Model, ModelList

_log = structlog.get_logger("langchain_platform.openai_compat")

# The service already retried its LLM calls (LLM_MAX_RETRIES), and a run that ran out of time
# would again: OpenAI clients, which retry every 5xx, are told not to multiply the load.
_NO_RETRY_STATUSES = frozenset({HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT})


def _answer(error: OpenAIError, headers: dict[str, str] | None = None) -> Response[Any]:
    headers = dict(headers or {})
    if error.status in _NO_RETRY_STATUSES:
        headers["x-should-retry"] = "false"
    return Response(
        content=error.body, status_code=error.status, media_type="application/json", headers=headers
    )


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    message = exc.detail
    if exc.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        limit = request.route_handler.resolve_request_max_body_size()
        message = f"Request body larger than {limit} bytes (MAX_REQUEST_BYTES)"
    elif exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR and not isinstance(exc, ServiceUnavailable):
        message = HTTPStatus(exc.status_code).phrase  # Litestar's own 5xx details can carry internals
    return _answer(openai_error(exc.status_code, message), exc.headers)


def _domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    retry_after = exc.retry_after_seconds
    return _answer(domain_error(exc), {"Retry-After": str(retry_after)} if retry_after is not None else None)


def _unhandled_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled exception", path=request.url.path, exc_info=exc)
    return _answer(domain_error(exc))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error_handler,
    HTTPException: _http_exception_handler,
    Exception: _unhandled_exception_handler,
}


class OpenAIController(Controller):
    path = "/v1"
    guards = [require_agents_scope, require_agents_available]
    exception_handlers = EXCEPTION_HANDLERS
    include_in_schema = False

    @get("/models")
    async def list_models(self, runtime: AgentRuntime) -> ModelList:
        return model_list(runtime)

    @get("/models/{model_id:str}")
    async def get_model(self, model_id: str, runtime: AgentRuntime) -> Model:
        return model(runtime, model_id)

    @post("/chat/completions", status_code=200)
    async def chat_completions(self, request: Request[Any, Any, Any], runtime: AgentRuntime) -> Response[Any]:
        call = decode_call(await request.body(), request.headers.get(THREAD_HEADER))
        run, text = await start_run(runtime, call, principal_of(request))
        headers = {"X-Thread-Id": call.thread_id} if call.thread_id is not None else {}
        if call.request.stream:
            # Proxies must not buffer the stream, or tokens arrive all at once at the end.
            headers |= {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return Stream(
                chunk_stream(call, run, run.stream(text)), media_type="text/event-stream", headers=headers
            )
        answer: ChatCompletion = completion(call, run, await run.invoke(text))
        return Response(answer, headers=headers)
