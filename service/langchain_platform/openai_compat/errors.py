"""Errors on ``/v1/*`` in OpenAI's format, ``{"error": {message, type, param, code}}``.

OpenAI clients choose their exception class from the status (400 BadRequestError, 401
AuthenticationError, 404 NotFoundError, 409 ConflictError, 429 RateLimitError, 5xx
InternalServerError) and read ``message`` from the body, so the statuses are the service's own
(``errors.py``) with two refinements: an unknown agent is OpenAI's ``model_not_found``, and an LLM
provider's 429 stays a 429 so the client backs off instead of retrying at once.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import msgspec

from langchain_platform.agents.errors import LLMFailure
from langchain_platform.domain_errors import DomainError
from langchain_platform.errors import failure_problem

PATH_PREFIX = "/v1"
UNAUTHORIZED_MESSAGE = "Invalid or missing API key: send it as `Authorization: Bearer <key>`"
INTERNAL_ERROR_MESSAGE = "Internal server error; see the service log"

# The error types OpenAI's API uses.
INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
RATE_LIMIT = "rate_limit_error"
SERVER_ERROR = "server_error"

# Codes of the service's own failures, for clients that branch on ``code``.
_CODES = {
    HTTPStatus.BAD_REQUEST: "invalid_value",
    HTTPStatus.FORBIDDEN: "permission_denied",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.CONFLICT: "thread_busy",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "request_too_large",
    HTTPStatus.TOO_MANY_REQUESTS: "rate_limit_exceeded",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
    HTTPStatus.BAD_GATEWAY: "llm_upstream_error",
    HTTPStatus.SERVICE_UNAVAILABLE: "service_unavailable",
    HTTPStatus.GATEWAY_TIMEOUT: "timeout",
}
# msgspec names the offending field as "... - at `$.messages[0].content`".
_ERROR_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


class ErrorBody(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(msgspec.Struct):
    error: ErrorBody


class OpenAIError(msgspec.Struct):
    """An answer to give: its status and body."""

    status: int
    body: ErrorEnvelope


def is_openai_path(path: str) -> bool:
    return path == PATH_PREFIX or path.startswith(PATH_PREFIX + "/")


def error_type(status: int) -> str:
    if status == HTTPStatus.UNAUTHORIZED:
        return AUTHENTICATION
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return RATE_LIMIT
    return SERVER_ERROR if status >= HTTPStatus.INTERNAL_SERVER_ERROR else INVALID_REQUEST


def openai_error(status: int, message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    code = code or _CODES.get(HTTPStatus(status))
    return OpenAIError(status, ErrorEnvelope(ErrorBody(message, error_type(status), param, code)))


UNAUTHORIZED_BODY = msgspec.json.encode(
    openai_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED_MESSAGE, code="invalid_api_key").body
)


class InvalidRequest(DomainError):
    """A request the protocol allows in form but this service cannot take; ``param`` names the field."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


class ModelNotFound(DomainError):
    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist: GET /v1/models lists the agents")


def invalid_body(exc: msgspec.MsgspecError) -> InvalidRequest:
    """A body msgspec could not decode, as a 400 naming the field (``messages[0].content``)."""
    if isinstance(exc, msgspec.ValidationError):
        message = str(exc)
        found = _ERROR_PATH.search(message)
        # A map's value is "metadata[...]": the field to fix is the map.
        param = found.group(1).replace("[...]", "") if found else None
        return InvalidRequest(f"Invalid request body: {message}", param or None)
    return InvalidRequest(
        "We could not parse the JSON body of your request: send a JSON object as the body", None
    )


def domain_error(exc: Exception) -> OpenAIError:
    """The OpenAI error for a failed request or stream (a ``DomainError``, or a bug: 500)."""
    if isinstance(exc, InvalidRequest):
        return openai_error(HTTPStatus.BAD_REQUEST, exc.detail, exc.param)
    if isinstance(exc, ModelNotFound):
        return openai_error(HTTPStatus.NOT_FOUND, exc.detail, "model", "model_not_found")
    if isinstance(exc, LLMFailure) and exc.kind == "http_429":
        return openai_error(HTTPStatus.TOO_MANY_REQUESTS, exc.detail)
    if isinstance(exc, DomainError):
        problem = failure_problem(exc)
        return openai_error(problem.status, problem.detail)
    return openai_error(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)
