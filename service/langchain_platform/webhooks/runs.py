"""Webhook runs: accept an event, run the agent in the background, record the outcome in the state
store (so any worker answers ``GET /api/runs/{id}``) and deliver it to the ``callback_url``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import msgspec
import structlog

from langchain_platform.agents.agent_run import AgentRun
from langchain_platform.agents.failures import run_failure
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.principals import AGENTS, WEBHOOK_OWNER, Principal
from langchain_platform.state.errors import state_errors
from langchain_platform.state.store import RunView
from langchain_platform.webhooks.callback_policy import CallbackPolicy
from langchain_platform.webhooks.delivery import deliver
from langchain_platform.webhooks.errors import DuplicateEvent, RunNotFound, WebhooksDisabled
from langchain_platform.webhooks.inbound import authenticate, check_target
from langchain_platform.webhooks.schemas import WebhookEvent
from langchain_platform.webhooks.signatures import VerifiedMessage

_log = structlog.get_logger("langchain_platform.agents")
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

    async def submit(self, name: str, event: WebhookEvent, message: VerifiedMessage | None) -> AgentRun:
        """Accept an authenticated event once: check its target, its id, the callback, take the thread,
        run in the background. An event refused after its id was claimed gives the id back, so the
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
            run = await self._start(name, event)
        except BaseException:
            if message is not None:
                with contextlib.suppress(*state_errors()):
                    await asyncio.shield(store.release_webhook_id(message.message_id))
            raise
        return run

    async def _start(self, name: str, event: WebhookEvent) -> AgentRun:
        if event.callback_url is not None:
            await self._callback_policy.check(event.callback_url)
        run = await self._runtime.prepare_run(name, event.thread_id, principal=WEBHOOK_SENDER)
        try:
            await self._runtime.state.call(
                run.store.create_run(str(run.run_id), name, run.thread_id, WEBHOOK_OWNER)
            )
        except BaseException:
            await run.release()
            raise
        self._runtime.spawn(self._execute(run, event.input, event.callback_url), name=f"webhook-{run.run_id}")
        return run

    async def _execute(self, run: AgentRun, text: str, callback_url: str | None) -> None:
        run_id = str(run.run_id)
        store = run.store
        payload: dict[str, Any] = {"run_id": run_id, "agent": run.spec.name, "thread_id": run.thread_id}
        try:
            await store.update_run(run_id, status="running")
            result = msgspec.to_builtins(await run.invoke(text))
            await store.update_run(run_id, status="succeeded", result=result)
            payload.update(status="succeeded", result=result)
        except asyncio.CancelledError:
            with contextlib.suppress(*state_errors()):
                await asyncio.shield(
                    store.update_run(run_id, status="failed", error="cancelled: service stopped")
                )
            raise
        except Exception as exc:
            error = run_failure(exc)
            detail = error.detail if error is not None else "internal error; see the service log"
            if error is None:
                _log.exception("webhook run failed", run_id=run_id)
            with contextlib.suppress(*state_errors()):
                await store.update_run(run_id, status="failed", error=detail)
            payload.update(status="failed", error=detail)
        finally:
            await run.release()
        if callback_url is not None:
            outcome = await deliver(
                self._runtime.http_client(),
                self._callback_policy,
                url=callback_url,
                secret=self.secret(),
                message_id=f"msg_{run_id}",
                legacy_header=self._settings.webhook_legacy_signature,
                payload=payload,
                max_attempts=self._settings.webhook_callback_max_attempts,
                timeout_seconds=self._settings.webhook_callback_timeout_seconds,
            )
            _log.info("webhook callback", run_id=run_id, outcome=outcome)
            with contextlib.suppress(*state_errors()):
                await store.set_run_callback(run_id, outcome)

    async def status(self, run_id: str, principal: Principal) -> RunView:
        """The run, if ``principal`` may see it: another owner's run is answered as a missing one."""
        state = self._runtime.state
        _, store = await state.require()
        run = await state.call(store.get_run(run_id))
        if run is None or not principal.may_use(run.owner):
            raise RunNotFound(f"no run {run_id}")
        return run
