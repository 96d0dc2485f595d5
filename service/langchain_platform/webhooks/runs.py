"""Webhook runs: an accepted event becomes an Agent Server background run, and ``GET /api/runs/{id}``
reads the same run table.

So a webhook run is taken by whichever worker or replica has room, held under a lease, retried from its
thread's last checkpoint if its process dies (``BACKGROUND_RUN_RETRY_LOST``), and visible through the
Agent Server API (``client.runs.get(thread_id, run_id)``) to admin keys. Its ``callback_url`` is the
run's ``webhook``, delivered by the run webhooks' code (``agent_server/run_webhooks.py``) with the body
``run_views.callback_payload`` makes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import uuid4

from langchain_platform.agent_server.schemas import RunCreate
from langchain_platform.agent_server.service import AgentServer
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.principals import AGENTS, WEBHOOK_OWNER, Principal
from langchain_platform.state.errors import ThreadBusy, ThreadHidden, state_errors
from langchain_platform.webhooks.callback_policy import CallbackPolicy
from langchain_platform.webhooks.errors import DuplicateEvent, RunNotFound, WebhooksDisabled
from langchain_platform.webhooks.inbound import authenticate, check_target
from langchain_platform.webhooks.run_views import (
    RunView,
    failure_detail,
    invoke_result,
    view_status,
)
from langchain_platform.webhooks.schemas import WebhookAccepted, WebhookEvent
from langchain_platform.webhooks.signatures import VerifiedMessage

# Who webhook events act for: their threads and runs are visible to admin keys only.
WEBHOOK_SENDER = Principal(WEBHOOK_OWNER, frozenset({AGENTS}))


class WebhookRuns:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._callback_policy = CallbackPolicy.from_allowlist(self._settings.webhook_callback_allowlist)

    def secret(self) -> str:
        secret = self._settings.webhook_secret
        if not secret:
            raise WebhooksDisabled()
        return secret

    def authenticate(self, headers: Mapping[str, str], body: bytes) -> VerifiedMessage | None:
        """Check the event's signature and time (``EventNotAuthentic``); None for a legacy signature."""
        return authenticate(
            self.secret(),
            headers,
            body,
            tolerance_seconds=self._settings.webhook_tolerance_seconds,
            legacy_allowed=self._settings.webhook_legacy_signature,
        )

    async def submit(
        self, server: AgentServer, name: str, event: WebhookEvent, message: VerifiedMessage | None
    ) -> WebhookAccepted:
        """Accept an authenticated event once: check its target, its id, the callback and the thread,
        then queue its run. An event refused after its id was claimed gives the id back, so the
        sender may deliver it again (e.g. once a busy thread is free)."""
        check_target(name, event.agent, message)
        self._runtime.agent(name)
        state = self._runtime.state
        _, store = await state.require()
        if message is not None:
            # Kept until the message's own time leaves the window: no later copy can pass the check.
            keep_until = message.timestamp + self._settings.webhook_tolerance_seconds + 1
            if not await state.call(store.claim_webhook_id(message.message_id, keep_until)):
                raise DuplicateEvent(message.message_id)
        try:
            return await self._queue(server, name, event)
        except BaseException:
            if message is not None:
                with contextlib.suppress(*state_errors()):
                    await asyncio.shield(store.release_webhook_id(message.message_id))
            raise

    async def _queue(self, server: AgentServer, name: str, event: WebhookEvent) -> WebhookAccepted:
        if event.callback_url is not None:
            await self._callback_policy.check(event.callback_url)
        thread_id = event.thread_id or uuid4().hex
        await self._check_thread(name, thread_id)
        body = RunCreate(
            assistant_id=name,
            input={"messages": [{"role": "user", "content": event.input}]},
            webhook=event.callback_url,
            if_not_exists="create",
        )
        # multitask_strategy reject: a thread with a run going (or queued) is a 409, as it always was.
        run = await server.background.create(thread_id, body, WEBHOOK_SENDER)
        return WebhookAccepted(
            run_id=run.run_id, thread_id=thread_id, status="queued", status_url=f"/api/runs/{run.run_id}"
        )

    async def _check_thread(self, name: str, thread_id: str) -> None:
        """Refuse now, not in a failed run, a thread of another key owner (404) or another agent (409)."""
        state = self._runtime.state
        _, store = await state.require()
        record = await state.call(store.thread_record(thread_id))
        if record is None:
            return
        if not WEBHOOK_SENDER.may_use(record.owner):
            raise ThreadHidden(name, thread_id)
        if record.agent != name:
            raise ThreadBusy(
                f"thread {thread_id} belongs to agent {record.agent}: use a new thread_id for {name}"
            )

    async def status(self, server: AgentServer, run_id: str, principal: Principal) -> RunView:
        """The run, if ``principal`` may see it: another owner's run is answered as a missing one."""
        state = self._runtime.state
        row = await state.call(server.background.store.get(run_id))
        if row is None or not principal.may_use(row.owner):
            raise RunNotFound(f"no run {run_id}")
        _, store = await state.require()
        callback = await state.call(store.callback_outcome(run_id))
        shown = view_status(row.status)
        return RunView(
            run_id=row.run_id,
            agent=row.assistant_id,
            thread_id=row.thread_id,
            status=shown,
            result=(
                invoke_result(row.result, run_id=row.run_id, thread_id=row.thread_id)
                if shown == "succeeded"
                else None
            ),
            error=failure_detail(row.status, row.result) if shown == "failed" else None,
            callback=callback,
            created_at=datetime.fromtimestamp(row.created_at, UTC),
            updated_at=datetime.fromtimestamp(row.updated_at, UTC),
            owner=row.owner,
        )
