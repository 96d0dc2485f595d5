"""One run at a time per thread, across workers and replicas: a lease in the state store.

Two runs appending to one thread's checkpoint would interleave their messages, so the second run
is refused (``ThreadBusy``) instead. The lease is short (``LEASE_SECONDS``) and renewed by a heartbeat
while the run goes on, so a holder that died frees the thread within ``LEASE_SECONDS`` wherever it
ran. Its owner is ``hostname:boot_id:pid``; a restarted ``serve`` on the same host drops at once
the leases of its previous boot (``release_leases_of_previous_boots``), so a crashed container's
threads are free as soon as it is back. That relies on each container having its own hostname,
as Docker gives it unless it shares the host's network (then give each one ``--hostname``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import structlog

from langchain_platform.principals import Principal
from langchain_platform.state.errors import ThreadBusy, ThreadHidden
from langchain_platform.state.store import LeaseRefused, PlatformStore

# Set by `langchain-platform serve` once per start and inherited by its workers: leases of this
# host with another boot id belong to processes that no longer run.
BOOT_ID_ENV = "LANGCHAIN_PLATFORM_BOOT_ID"
LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 10.0

_log = structlog.get_logger("langchain_platform.agents")
# Without `serve` (uvicorn run by hand, tests) each process is its own boot.
_PROCESS_BOOT_ID = uuid.uuid4().hex[:12]


def new_boot_id() -> str:
    return uuid.uuid4().hex[:12]


def boot_id() -> str:
    return os.environ.get(BOOT_ID_ENV) or _PROCESS_BOOT_ID


def boot_id_shared() -> bool:
    """True when ``serve`` set the boot id, so every process of this boot on this host shares it."""
    return bool(os.environ.get(BOOT_ID_ENV))


def owner_id() -> str:
    return f"{socket.gethostname()}:{boot_id()}:{os.getpid()}"


async def release_leases_of_previous_boots(store: PlatformStore) -> int:
    """Drop the leases that processes of an earlier boot of this host left behind (they are dead).

    Only done when ``serve`` set a shared boot id: otherwise this host's other processes may be
    alive with boot ids of their own.
    """
    if not boot_id_shared():
        return 0
    released = await store.release_leases_of_other_boots(socket.gethostname(), boot_id())
    if released:
        _log.warning("released thread leases of a previous start of this host", leases=released)
    return released


class Lease:
    """A held thread lease, renewed in the background until ``release``."""

    def __init__(self, store: PlatformStore, thread_id: str, run_id: str, lease_seconds: float) -> None:
        self._store = store
        self.thread_id = thread_id
        self.run_id = run_id
        self._lease_seconds = lease_seconds
        self._heartbeat: asyncio.Task[None] | None = None

    def keep_alive(self, every_seconds: float) -> None:
        self._heartbeat = asyncio.create_task(self._renew(every_seconds), name=f"lease-{self.run_id}")

    async def _renew(self, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                held = await self._store.renew_run_lock(self.thread_id, self.run_id, self._lease_seconds)
            except Exception as exc:  # the database may be back before the lease runs out: keep trying
                _log.warning("could not renew thread lease", thread_id=self.thread_id, error=repr(exc))
                continue
            if not held:
                _log.warning("thread lease lost before the run ended", thread_id=self.thread_id)
                return

    async def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self._store.release_run_lock(self.thread_id, self.run_id)


class RunGuard:
    def __init__(
        self,
        store: PlatformStore,
        lease_seconds: float = LEASE_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._store = store
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._owner = owner_id()

    async def acquire(
        self, thread_id: str, run_id: str, agent: str | None = None, principal: Principal | None = None
    ) -> Lease:
        """Take the thread for ``run_id`` or raise ``ThreadBusy`` naming the run that holds it.

        With ``agent``, the thread must be new or belong to that agent, and is recorded as the
        agent's (``updated_at`` = now) in the same transaction that takes the lease. With
        ``principal`` too, a thread it may not use raises ``ThreadHidden`` whether busy or not, and
        a new or unowned thread becomes the principal's.
        """
        refused = await self._store.acquire_run_lock(
            thread_id, run_id, self._owner, self.lease_seconds, agent=agent, principal=principal
        )
        if refused is not None and refused.hidden:
            raise ThreadHidden(agent or "", thread_id)
        if refused is not None:
            raise ThreadBusy(_conflict_detail(thread_id, agent, refused))
        lease = Lease(self._store, thread_id, run_id, self.lease_seconds)
        lease.keep_alive(self.heartbeat_seconds)
        return lease


def _conflict_detail(thread_id: str, agent: str | None, refused: LeaseRefused) -> str:
    if refused.agent is not None:
        return f"thread {thread_id} belongs to agent {refused.agent}: use a new thread_id for {agent}"
    return f"thread {thread_id} is busy with run {refused.holder}"
