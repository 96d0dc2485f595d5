"""Request and response bodies of the webhook endpoints (``GET /api/runs/{id}`` answers a ``RunView``,
in ``run_views.py``)."""

from __future__ import annotations

import msgspec

from langchain_platform.agents.schemas import ThreadId, UserInput


class WebhookEvent(msgspec.Struct, forbid_unknown_fields=True):
    input: UserInput
    # The agent the event is for, equal to the path's: it is signed with the body, so an event
    # cannot be redirected to another agent's webhook. Required with Standard Webhooks signatures.
    agent: str | None = None
    thread_id: ThreadId | None = None
    callback_url: str | None = None


class WebhookAccepted(msgspec.Struct):
    run_id: str
    thread_id: str
    status: str
    status_url: str
