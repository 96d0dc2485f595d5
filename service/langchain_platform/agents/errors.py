"""What agent and chain requests fail with: unknown names, unusable agents, bad chain input, and
the ways a run fails (LLM, tool, time limits, shutdown)."""

from __future__ import annotations

from langchain_platform.domain_errors import DomainError
from langchain_platform.state.errors import ThreadBusy


class UnknownAgent(DomainError):
    pass


class UnknownChain(DomainError):
    pass


class ThreadNotFound(DomainError):
    pass


class ThreadAwaitsResume(ThreadBusy):
    """The thread's last run paused for a human answer (``ask_human``): a new turn would leave that
    question unanswered, so only a resume continues it (409, like a busy thread)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"thread {thread_id} waits for a human answer (ask_human): resume it through the Agent "
            'Server API with command={"resume": <answer>} (langgraph-sdk runs.wait/stream/create)'
        )


class AgentsUnavailable(DomainError):
    """No LLM key or an invalid agents file: nothing can run until the operator fixes it."""


class InvalidChainInput(DomainError):
    """The request's ``input`` does not fill the chain's template variables."""


class ToolTimeout(DomainError):
    def __init__(self, tool: str, seconds: float) -> None:
        super().__init__(f"tool {tool} did not finish within {seconds:g}s (TOOL_TIMEOUT_SECONDS)")
        self.tool = tool


class LLMFailure(DomainError):
    """An LLM call failed after the client's retries; ``kind`` labels llm_errors_total."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class LLMTimeout(LLMFailure):
    def __init__(self, timeout_seconds: float) -> None:
        super().__init__("timeout", f"LLM did not answer within {timeout_seconds:g}s (LLM_TIMEOUT_SECONDS)")


class RunTimeout(DomainError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the run did not finish within {seconds:g}s (RUN_TIMEOUT_SECONDS)")


# How long a client should wait before retrying an instance that is stopping: by then the load
# balancer has taken it out and the retry lands elsewhere.
STOPPING_RETRY_AFTER_SECONDS = 5


class RunCancelled(DomainError):
    """The service stops under the run; another instance can take the retry."""

    retry_after_seconds = STOPPING_RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__("the run was cancelled because the service is stopping")
