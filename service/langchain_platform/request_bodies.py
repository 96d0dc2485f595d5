"""How every JSON request body is decoded: nesting bounded first, then strictly into its declared type.

One path for all of them, whether Litestar hands a handler its ``data`` (``JsonBodyRequest`` below)
or a handler decodes a raw body itself (``decode_body``, for bodies it must first read as bytes):

- nesting deeper than ``MAX_JSON_NESTING`` is refused before decoding, in one linear pass without
  recursion (msgspec's recursive decoder otherwise hits the interpreter's recursion limit: a 500);
- decoding is strict: a JSON value of another type than the schema says (``1`` for a boolean, an
  object for a string, ``"5"`` or ``1.5`` for an integer) is refused, never converted; Litestar's own
  ``data`` conversion is lax. JSON Schema's integers are numbers without a fraction, so ``5.0`` is one.

Either way a bad body is a 400 problem whose detail names the offending field.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import ClientException
from litestar.types import Empty

_T = TypeVar("_T")

# Every body this service accepts nests at most three levels (a chain's input object inside the
# body); the bound leaves room for future fields while staying far below the recursion limit.
MAX_JSON_NESTING = 32

# JSON strings (escapes included), which may hold brackets that open nothing.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_INT64_LIMIT = 2**63
# Brackets become +1 / -1 as signed bytes, every other byte is dropped.
_OPENERS, _CLOSERS = b"[{", b"]}"
_DEPTH_STEPS = bytes.maketrans(_OPENERS + _CLOSERS, b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPENERS + _CLOSERS)


def _integral_number(literal: str) -> int | float:
    value = float(literal)
    return int(value) if value.is_integer() and abs(value) < _INT64_LIMIT else value


# Decodes ``5.0`` as the integer it is (as JSON Schema does), so integer fields take it.
_JSON = msgspec.json.Decoder(float_hook=_integral_number)


def too_deeply_nested(body: bytes, limit: int = MAX_JSON_NESTING) -> bool:
    """True if arrays and objects nest more than ``limit`` levels in ``body``; linear, no recursion.

    Brackets inside strings do not count. Malformed JSON gets an answer too: the decoder refuses it
    afterwards anyway.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the usual body: too few brackets to nest that deep, nothing to scan
    brackets = _JSON_STRING.sub(b"", body).translate(_DEPTH_STEPS, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets)), default=0) > limit


def decode_body(body: bytes, kind: type[_T] | Any) -> _T:
    """``body`` (an empty one counts as ``{}``) as ``kind``; 400 naming the problem otherwise."""
    body = body or b"{}"
    if too_deeply_nested(body):
        raise ClientException(f"invalid request body: JSON nested deeper than {MAX_JSON_NESTING} levels")
    try:
        decoded: _T = msgspec.convert(_JSON.decode(body), type=kind, strict=True)
    except msgspec.DecodeError as exc:  # ValidationError included: "... - at `$.field`"
        raise ClientException(f"invalid request body: {exc}") from exc
    return decoded


class JsonBodyRequest(Request[Any, Any, Any]):
    """The app's request class: ``data`` arrives decoded by ``decode_body`` into the handler's type.

    Litestar converts what ``json()`` returns into the ``data`` annotation; an instance of that type
    passes through its conversion unchanged, so the lax conversion never sees raw JSON.
    """

    async def json(self) -> Any:
        if self._json is Empty:
            data_field = self.route_handler.parsed_data_field
            self._json = decode_body(await self.body(), data_field.annotation if data_field else Any)
        return self._json
