"""Problem-details answers: the HTTP status of each domain error and the handlers that render every error.

Every error the service answers is ``application/problem+json`` with ``{type, title, status, detail}``
(RFC 9457), so clients and operators parse one shape whatever failed. Domain code raises plain
``DomainError`` subclasses; the table below is the one place that says which status each one gets.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap

from langchain_platform.agents.errors import (
    AgentsUnavailable,
    InvalidChainInput,
    LLMFailure,
    LLMTimeout,
    RunCancelled,
    RunTimeout,
    ThreadNotFound,
    ToolTimeout,
    UnknownAgent,
    UnknownChain,
)
from langchain_platform.domain_errors import DomainError
from langchain_platform.http_methods import allow_header, methods_of
from langchain_platform.state.errors import StateUnavailable, ThreadBusy, ThreadHidden
from langchain_platform.webhooks.errors import (
    CallbackRefused,
    DuplicateEvent,
    EventNotAuthentic,
    RunNotFound,
    WebhooksDisabled,
)

PROBLEM_JSON = "application/problem+json"

# What each error status means on this service, for the OpenAPI document.
_ERROR_MEANINGS = {
    400: "Invalid request: the detail names the field to fix",
    401: "Invalid or missing API key (webhooks: invalid or missing signature)",
    403: "The API key lacks the scope this endpoint needs (admin or agents)",
    404: "No such agent, chain, thread or run (or it belongs to another key owner)",
    409: "The thread is busy with another run or belongs to another agent; a webhook id already received",
    413: "Request body larger than MAX_REQUEST_BYTES",
    502: "The LLM provider failed",
    503: "Not available now (maintenance, shutting down, no LLM key, state store down); see Retry-After",
    504: "The LLM or the whole run took longer than its time limit",
}

# Looked up along the exception's class hierarchy, so a subclass may refine its base (LLMTimeout).
_DOMAIN_STATUS: dict[type[DomainError], HTTPStatus] = {
    InvalidChainInput: HTTPStatus.BAD_REQUEST,
    CallbackRefused: HTTPStatus.BAD_REQUEST,
    EventNotAuthentic: HTTPStatus.UNAUTHORIZED,
    UnknownAgent: HTTPStatus.NOT_FOUND,
    UnknownChain: HTTPStatus.NOT_FOUND,
    ThreadNotFound: HTTPStatus.NOT_FOUND,
    ThreadHidden: HTTPStatus.NOT_FOUND,
    RunNotFound: HTTPStatus.NOT_FOUND,
    ThreadBusy: HTTPStatus.CONFLICT,
    DuplicateEvent: HTTPStatus.CONFLICT,
    LLMFailure: HTTPStatus.BAD_GATEWAY,
    AgentsUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    StateUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    RunCancelled: HTTPStatus.SERVICE_UNAVAILABLE,
    WebhooksDisabled: HTTPStatus.SERVICE_UNAVAILABLE,
    LLMTimeout: HTTPStatus.GATEWAY_TIMEOUT,
    ToolTimeout: HTTPStatus.GATEWAY_TIMEOUT,
    RunTimeout: HTTPStatus.GATEWAY_TIMEOUT,
}
_INTERNAL_ERROR_DETAIL = "Internal server error; see the service log"

_log = structlog.get_logger("langchain_platform.errors")


class ServiceUnavailable(HTTPException):
    """503 raised by guards and probes; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail=detail, status_code=self.status_code, headers=_retry_after(retry_after))
        self.retry_after = retry_after


def _retry_after(seconds: int | None) -> dict[str, str] | None:
    return {"Retry-After": str(seconds)} if seconds is not None else None


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details: the body of every error answer."""

    type: str
    title: str
    status: int
    detail: str


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI ``responses`` documenting the error answers an operation can give."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_ERROR_MEANINGS[status],
            media_type=PROBLEM_JSON,
            # Examples would be generated with polyfactory: not worth importing it in the service.
            generate_examples=False,
        )
        for status in statuses
    }


def problem_details(status: int, detail: str) -> ProblemDetails:
    """The body of an error answer: HTTP responses, the API-key gate's 401, stream ``error`` events."""
    title = HTTPStatus(status).phrase
    return ProblemDetails(type="about:blank", title=title, status=int(status), detail=detail)


def problem_response(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=problem_details(status, detail), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _domain_status(exc: DomainError) -> HTTPStatus:
    for cls in type(exc).__mro__:
        status = _DOMAIN_STATUS.get(cls)
        if status is not None:
            return status
    return HTTPStatus.INTERNAL_SERVER_ERROR


def failure_problem(exc: Exception) -> ProblemDetails:
    """The problem a failed stream reports in its ``error`` event (its HTTP status is 200 by then)."""
    if isinstance(exc, DomainError):
        return problem_details(_domain_status(exc), exc.detail)
    return problem_details(HTTPStatus.INTERNAL_SERVER_ERROR, _INTERNAL_ERROR_DETAIL)


def _validation_detail(exc: ValidationException) -> str:
    # Litestar puts one {key, message, source} per bad field in ``extra``; name them so the client
    # knows which field to fix without reading the OpenAPI schema.
    problems: list[str] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                key = item.get("key")
                message = item.get("message", "invalid value")
                problems.append(f"{key}: {message}" if key else str(message))
    base = exc.detail or "Validation failed"
    return f"{base}: {'; '.join(problems)}" if problems else base


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = _validation_detail(exc) if isinstance(exc, ValidationException) else exc.detail
    if exc.status_code == HTTPStatus.NOT_FOUND and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"No endpoint at {request.method} {request.url.path}"
    elif exc.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"Request body larger than {limit} bytes (MAX_REQUEST_BYTES)"
    if exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR and not isinstance(exc, ServiceUnavailable):
        # Litestar's own 5xx details can carry internals; the service's own carry vetted text.
        detail = HTTPStatus(exc.status_code).phrase
    headers = exc.headers
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED and headers and "allow" in headers:
        headers = {**headers, "allow": allow_header(methods_of(headers["allow"]))}
    return problem_response(exc.status_code, detail, headers=headers)


def _domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem_response(_domain_status(exc), exc.detail, headers=_retry_after(exc.retry_after_seconds))


def _unhandled_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled exception", path=request.url.path, exc_info=exc)
    return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, _INTERNAL_ERROR_DETAIL)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error_handler,
    HTTPException: _http_exception_handler,
    Exception: _unhandled_exception_handler,
}
