"""Library loggers: the per-request INFO lines of HTTP clients show only at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from langchain_platform.observability.logging import configure_logging, set_level

PER_LLM_CALL = ("httpx", "httpcore", "openai", "httpx2", "httpcore2")


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level


def test_http_client_loggers_are_quiet_unless_debug() -> None:
    configure_logging("INFO")
    for name in PER_LLM_CALL:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    assert logging.getLogger("langchain_platform.app").isEnabledFor(logging.INFO)

    set_level("DEBUG")  # POST /api/admin/log-level at run time
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("openai").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("httpcore").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.DEBUG), "socket events stay hidden"

    set_level("INFO")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
