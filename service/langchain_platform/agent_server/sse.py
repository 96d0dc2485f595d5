"""Server-sent event frames as the SDK's decoder reads them: ``event``, one ``data`` line, ``id``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_platform.agent_server.serialization import to_json

# Long waits send one of these now and then, so a proxy or balancer does not cut an idle answer:
# blank lines in an event stream, leading whitespace in a JSON body.
KEEP_ALIVE = b"\n"


def frame(event: str, data: Any, event_id: int) -> bytes:
    return b"event: %s\ndata: %s\nid: %d\n\n" % (event.encode(), to_json(data), event_id)


async def frames(events: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[bytes]:
    event_id = 0
    async for event, data in events:
        yield frame(event, data, event_id)
        event_id += 1
