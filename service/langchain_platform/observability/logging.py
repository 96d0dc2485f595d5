"""Structured logs: one JSON object per line on stdout, for the app and every library.

Standard-library records (uvicorn, httpx, langchain) go through the same structlog renderer, so a
log shipper parses one format. The level is the root logger's: ``set_level`` changes it at run time
for structlog and stdlib loggers alike.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

# Event keys whose values are never written, whoever logs them.
_SECRET_KEYS = frozenset(
    {"api_key", "x_api_key", "x-api-key", "authorization", "password", "secret", "token", "webhook_secret"}
)
# Libraries that log every socket event at DEBUG; DEBUG on the service should not drown in them.
_CHATTY_LIBRARIES = ("aiosqlite", "hpack", "multipart")
# HTTP clients that log a line per request at INFO (one per LLM call): shown only at DEBUG. The
# openai client ships on httpx2, its fork of httpx, which logs under its own name.
_PER_REQUEST_LIBRARIES = ("httpx", "httpx2", "openai")
# httpcore (and httpcore2 under httpx2) log socket events: at most INFO even when the service is at DEBUG.
_SOCKET_LIBRARIES = ("httpcore", "httpcore2")


# The id of the request being served, on every line logged while serving it. A plain ContextVar:
# structlog's bound_contextvars copies the whole context twice per request, a sixth of a probe's CPU.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event.keys() & _SECRET_KEYS:
        event[key] = "[redacted]"
    return event


def _add_pid(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Several uvicorn workers share one stdout: the pid tells their lines apart.
    event["pid"] = os.getpid()
    return event


def configure_logging(level: str) -> None:
    shared: list[structlog.types.Processor] = [
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_pid,
        _redact_secrets,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn may have attached its own text handlers; let records reach the JSON root handler.
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # The access log is ours (observability/requests.py: request id, route, duration); uvicorn's
    # would log every request twice.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO)
    set_level(level)


def set_level(level: str) -> None:
    level = level.upper()
    logging.getLogger().setLevel(level)
    debug = level == "DEBUG"
    for name in _PER_REQUEST_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)
    for name in _SOCKET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.WARNING)


def current_level() -> str:
    return logging.getLevelName(logging.getLogger().level)
