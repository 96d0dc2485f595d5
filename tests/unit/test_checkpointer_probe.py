"""The cached checkpointer ping behind /health and /health/ready."""

from __future__ import annotations

import asyncio

from langchain_platform.health.checkpointer_probe import CheckpointerProbe


class CountingPing:
    def __init__(self, answer: bool = True, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.answer


async def test_probes_within_max_age_share_one_ping_and_see_an_outage_after_it() -> None:
    ping = CountingPing()
    probe = CheckpointerProbe(ping, max_age_seconds=0.3)

    assert all(await asyncio.gather(*(probe.ok() for _ in range(20))))
    assert await probe.ok()
    assert ping.calls == 1

    ping.answer = False  # the database goes down
    await asyncio.sleep(0.35)
    assert await probe.ok() is False
    assert ping.calls == 2


async def test_a_hanging_or_failing_ping_is_not_ok_within_the_timeout() -> None:
    hanging = CheckpointerProbe(CountingPing(delay=10), timeout_seconds=0.1)
    assert await asyncio.wait_for(hanging.ok(), 1.0) is False

    async def broken() -> bool:
        raise OSError("disk gone")

    assert await CheckpointerProbe(broken).ok() is False
