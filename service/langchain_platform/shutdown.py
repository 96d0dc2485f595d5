"""Signals: SIGTERM drains before uvicorn stops, SIGHUP re-reads the API keys file.

uvicorn stops accepting connections as soon as its own SIGTERM handler runs. To let a load balancer
see ``/health/ready`` turn 503 and to let in-flight agent runs finish, our handler runs first: it
marks the process as draining (readiness and agent endpoints answer 503 from then on), waits until
the runtime is idle or ``SHUTDOWN_GRACE_SECONDS`` pass, ends the runs still going (each answers
``RunCancelled``: a 503 problem, or its stream's ``error`` event) and only then hands over to
uvicorn's handler, whose own cancellation would cut them without an answer. A second SIGTERM skips
the wait.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog

from langchain_platform.context import PlatformContext

if TYPE_CHECKING:
    from langchain_platform.agents.runtime import AgentRuntime

_log = structlog.get_logger("langchain_platform.shutdown")

# A stopped run ends at its next await; this only bounds a run stuck in a blocking call.
STOPPED_RUNS_WAIT_SECONDS = 2.0

_SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def _hand_over(previous: _SignalHandler, signum: int, frame: FrameType | None) -> None:
    if callable(previous):
        previous(signum, frame)
    else:
        # No server handler to defer to (default or ignored): restore it and let it act.
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        signal.raise_signal(signum)


async def stop_runs(runtime: AgentRuntime) -> None:
    """End the runs still going after the grace period, and give their answers time to go out."""
    stopped = runtime.stop_runs()
    _log.warning("drain grace period over; stopping the runs still in flight", stopped_runs=stopped)
    if not await runtime.wait_idle(STOPPED_RUNS_WAIT_SECONDS):
        _log.warning("runs still in flight after being stopped", in_flight_runs=runtime.in_flight_runs())


def install_signal_handlers(context: PlatformContext, runtime: AgentRuntime) -> Callable[[], None]:
    """Install the handlers; return a function that restores the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # embedded in a test client thread: signals belong to someone else
    loop = asyncio.get_running_loop()
    grace = context.settings.shutdown_grace_seconds
    previous_term = signal.getsignal(signal.SIGTERM)
    previous_hup = signal.getsignal(signal.SIGHUP)
    drain_tasks: set[asyncio.Task[None]] = set()

    async def drain_then_stop(signum: int, frame: FrameType | None) -> None:
        in_flight = runtime.in_flight_runs()
        _log.warning("SIGTERM received: draining", in_flight_runs=in_flight, grace_seconds=grace)
        if await runtime.wait_idle(grace):
            _log.warning("drain finished")
        else:
            await stop_runs(runtime)
        _hand_over(previous_term, signum, frame)

    def on_term(signum: int, frame: FrameType | None) -> None:
        if context.draining:
            _hand_over(previous_term, signum, frame)
            return
        context.start_draining()

        def start_drain() -> None:
            task = loop.create_task(drain_then_stop(signum, frame))
            drain_tasks.add(task)
            task.add_done_callback(drain_tasks.discard)

        loop.call_soon_threadsafe(start_drain)

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        _log.info("SIGHUP received: re-reading the API keys file")
        loop.call_soon_threadsafe(context.keys.reload)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hup)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGHUP, previous_hup)

    return restore
