"""What the webhook endpoints refuse."""

from __future__ import annotations

from langchain_platform.domain_errors import DomainError


class WebhooksDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("webhooks are disabled: set WEBHOOK_SECRET to enable them")


class CallbackRefused(DomainError):
    """The callback URL is not acceptable; the message says why and how to allow it."""


class RunNotFound(DomainError):
    pass


class EventNotAuthentic(DomainError):
    """The event's signature, time or target agent does not check out (401); the message says which."""


class DuplicateEvent(DomainError):
    """An event id already accepted within the tolerance window: a replay or a retry (409)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event {event_id} was already received: it runs once")
