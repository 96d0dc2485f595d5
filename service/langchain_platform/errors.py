"""Problem-details errors: the exceptions handlers raise and the handlers that render every error.

Every error the service answers is ``application/problem+json`` with ``{type, title, status, detail}``
(RFC 9457), so clients and operators parse one shape whatever failed.
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

PROBLEM_JSON = "application/problem+json"

# What each error status means on this service, for the OpenAPI document.
_ERROR_MEANINGS = {
    400: "Invalid request: the detail names the field to fix",
    401: "Invalid or missing API key (webhooks: invalid or missing signature)",
    404: "No such agent, chain, thread or run",
    409: "The thread is busy with another run, or belongs to another agent",
    413: "Request body larger than MAX_REQUEST_BYTES",
    502: "The LLM provider failed",
    503: "Not available now (maintenance, shutting down, no LLM key, state store down); see Retry-After",
    504: "The LLM or the whole run took longer than its time limit",
}

_log = structlog.get_logger("langchain_platform.errors")


class PlatformError(HTTPException):
    """Base of the errors handlers raise; the status code comes from the subclass."""

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=detail, status_code=self.status_code, headers=headers)


class NotFound(PlatformError):
    status_code = HTTPStatus.NOT_FOUND


class Conflict(PlatformError):
    status_code = HTTPStatus.CONFLICT


class BadGateway(PlatformError):
    status_code = HTTPStatus.BAD_GATEWAY


class GatewayTimeout(PlatformError):
    status_code = HTTPStatus.GATEWAY_TIMEOUT


class ServiceUnavailable(PlatformError):
    """503; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(detail, headers=headers)
        self.retry_after = retry_after


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
    if exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR and not isinstance(exc, PlatformError):
        # Litestar's own 5xx details can carry internals; platform errors carry vetted text.
        detail = HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=exc.headers)


def _unhandled_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled exception", path=request.url.path, exc_info=exc)
    return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error; see the service log")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception_handler,
    Exception: _unhandled_exception_handler,
}
