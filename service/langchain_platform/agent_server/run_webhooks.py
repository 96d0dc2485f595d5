"""A run's ``webhook``: when the run ends, its outcome is POSTed there, signed the Standard Webhooks way
with ``WEBHOOK_SECRET`` by the same delivery code, retries and callback policy (public hosts, or what
``WEBHOOK_CALLBACK_ALLOWLIST`` names) as the callbacks of ``/api/webhooks`` runs.

The URL is checked when the run is created (a refused one is a 422 before anything runs) and again
before each delivery attempt. The body is the run (``run_id``, ``thread_id``, ``assistant_id``,
``status``, ``metadata``) with its final ``values``, or its ``error`` when it failed; the
``webhook-id`` is ``msg_<run_id>``, the same on every attempt, so a receiver can drop a repeat.

A run that a webhook event started (owner ``webhooks:``) calls back its ``callback_url`` with the body
``/api/webhooks`` callbacks have always had (``webhooks/run_views.py``: ``status`` ``succeeded`` or
``failed``, ``result`` as ``/invoke`` answers it); the rest of the delivery is the same. Every
delivery's outcome is recorded in the state store, and ``GET /api/runs/{id}`` shows it (``callback``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog

from langchain_platform.agent_server.errors import AgentServerError
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.principals import WEBHOOK_OWNER
from langchain_platform.state.errors import StateUnavailable
from langchain_platform.webhooks.callback_policy import CallbackPolicy
from langchain_platform.webhooks.delivery import deliver
from langchain_platform.webhooks.errors import CallbackRefused
from langchain_platform.webhooks.run_views import callback_payload

_log = structlog.get_logger("langchain_platform.agent_server")


class WebhookRefused(AgentServerError):
    """No ``WEBHOOK_SECRET`` to sign with, or a URL the callback policy refuses (422)."""


def webhook_payload(
    *,
    run_id: str,
    thread_id: str | None,
    assistant_id: str,
    status: str,
    metadata: dict[str, Any],
    result: Any,
    owner: str | None = None,
) -> dict[str, Any]:
    """The delivered body; ``result`` is the run's final values or ``{"__error__": ...}``; ``owner``
    ``webhooks:`` gives a webhook event's run the body of ``/api/webhooks`` callbacks."""
    if owner == WEBHOOK_OWNER:
        return callback_payload(
            run_id=run_id, agent=assistant_id, thread_id=thread_id, status=status, result=result
        )
    payload: dict[str, Any] = {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": assistant_id,
        "status": status,
        "metadata": metadata,
    }
    if isinstance(result, dict) and "__error__" in result:
        payload["error"] = result["__error__"]
    else:
        payload["values"] = result
    return payload


class RunWebhooks:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._policy = CallbackPolicy.from_allowlist(self._settings.webhook_callback_allowlist)

    async def check(self, url: str | None) -> None:
        """Refuse a webhook that could not be delivered, before the run is created."""
        if url is None:
            return
        if not self._settings.webhook_secret:
            raise WebhookRefused("webhook needs WEBHOOK_SECRET (it signs every delivery): set it to use one")
        try:
            await self._policy.check(url)
        except CallbackRefused as exc:
            raise WebhookRefused(f"webhook refused: {exc.detail}") from exc

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """Deliver in the background (awaited by a graceful shutdown like the other webhook tasks)."""
        self._runtime.spawn(self._deliver(url, payload), name=f"agent-server-webhook-{payload['run_id']}")

    async def _deliver(self, url: str, payload: dict[str, Any]) -> None:
        secret = self._settings.webhook_secret
        if not secret:
            return  # checked at creation; a restart without the secret leaves nothing to sign with
        outcome = await deliver(
            self._runtime.http_client(),
            self._policy,
            url=url,
            secret=secret,
            message_id=f"msg_{payload['run_id']}",
            legacy_header=self._settings.webhook_legacy_signature,
            payload=payload,
            max_attempts=self._settings.webhook_callback_max_attempts,
            timeout_seconds=self._settings.webhook_callback_timeout_seconds,
        )
        _log.info("run webhook", run_id=payload["run_id"], outcome=outcome)
        state = self._runtime.state
        # The outcome is only shown by GET /api/runs/{id}: a store that is down loses it, not the run.
        with contextlib.suppress(StateUnavailable):
            _, store = await state.require()
            await state.call(
                store.record_callback(
                    payload["run_id"], outcome, self._settings.background_run_retention_seconds
                )
            )
