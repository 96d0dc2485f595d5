"""Graph values as JSON, the way the Agent Server API sends them: messages as their field dicts
(``type``, ``content``, ``id``, ``tool_calls``, ...), interrupts as ``{value, id}``, the rest as is."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import msgspec
from langgraph.types import Interrupt
from pydantic import BaseModel


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Interrupt):
        return {"value": value.value, "id": value.id}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    # Anything else (an exception in a task, a callable) has no JSON form: say what it was.
    return repr(value)


_ENCODER = msgspec.json.Encoder(enc_hook=_jsonable)


def to_json(value: Any) -> bytes:
    return _ENCODER.encode(value)


def to_builtins(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (for bodies Litestar encodes itself)."""
    return msgspec.json.decode(to_json(value))
