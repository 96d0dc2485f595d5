"""Failures of the state store, and the busy-thread refusal of the run guard."""

from __future__ import annotations

import sqlite3
import sys

from langchain_platform.domain_errors import DomainError

_COMMON_STATE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
# The database is usually back within seconds (restart, failover), and the pool reconnects.
STATE_RETRY_AFTER_SECONDS = 5


class StateUnavailable(DomainError):
    """The checkpointer database cannot be used right now; the message says why (never the URL)."""

    retry_after_seconds = STATE_RETRY_AFTER_SECONDS


class ThreadBusy(DomainError):
    """Another run holds the thread, or another agent owns it."""


class ThreadHidden(DomainError):
    """The thread belongs to another key owner: answered exactly as a thread that does not exist (404)."""

    def __init__(self, agent: str, thread_id: str) -> None:
        super().__init__(f"agent {agent} has no thread {thread_id}")


def state_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the database did not answer", as opposed to bugs.

    psycopg's are among them once the PostgreSQL backend has imported it (nothing raises them
    before): the driver, its pool and the PostgreSQL checkpointer are imported only for a
    postgresql:// URL, which saves a SQLite or memory service 0.3 s of its cold start.
    """
    psycopg = sys.modules.get("psycopg")
    return (*_COMMON_STATE_ERRORS, psycopg.Error) if psycopg is not None else _COMMON_STATE_ERRORS


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def store_failed(exc: BaseException) -> StateUnavailable:
    """The error a request gets when a store or checkpointer call hit a database error."""
    return StateUnavailable(f"the state store failed: {describe_error(exc)}")
