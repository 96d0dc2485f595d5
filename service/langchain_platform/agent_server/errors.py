"""What Agent Server API requests fail with, each carrying the HTTP status the SDK turns into its typed
error (404 ``NotFoundError``, 409 ``ConflictError``, 422 ``UnprocessableEntityError``)."""

from __future__ import annotations

from http import HTTPStatus

from langchain_platform.domain_errors import DomainError


class AgentServerError(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class AssistantNotFound(AgentServerError):
    status = HTTPStatus.NOT_FOUND

    def __init__(self, assistant_id: str) -> None:
        super().__init__(f"assistant {assistant_id!r} not found: POST /assistants/search lists them")


class AssistantsReadOnly(AgentServerError):
    """Assistants are the agents of the agents file: the API cannot create, change or delete them."""

    status = HTTPStatus.METHOD_NOT_ALLOWED

    def __init__(self, allow: str) -> None:
        # What the path does take (RFC 9110: a 405 names it, empty if nothing).
        self.allow = allow
        super().__init__(
            "assistants come from the agents file (AGENTS_CONFIG): edit that file to add, change or "
            "remove one; this API reads them only"
        )


class ThreadMissing(AgentServerError):
    status = HTTPStatus.NOT_FOUND

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} not found")


class ThreadExists(AgentServerError):
    status = HTTPStatus.CONFLICT

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} already exists (if_exists=raise)")


class ThreadWithoutAssistant(AgentServerError):
    """State of a thread no run has touched yet, and whose metadata names no graph, has no schema."""

    status = HTTPStatus.CONFLICT

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"thread {thread_id} has no assistant yet: run one on it first, or create it with graph_id"
        )


class RunMissing(AgentServerError):
    status = HTTPStatus.NOT_FOUND

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} not found")


class Unsupported(AgentServerError):
    """A field value the API knows but this server does not implement: refused, never ignored."""


class RunConflict(AgentServerError):
    """The thread has a run going and the strategy is ``reject``, or the run to delete is still going."""

    status = HTTPStatus.CONFLICT


class BatchItemRefused(AgentServerError):
    """One run of a batch is refused, so none of the batch is created."""

    def __init__(self, index: int, reason: AgentServerError) -> None:
        super().__init__(f"run {index} of the batch: {reason.detail} (no run of the batch was created)")
