"""A hostile calculator expression through a real server: refused at once, probes stay fast.

Before the calculator bounded each operation, ``round(1, -10**8)`` ran for minutes in the tool's
thread holding the GIL, and `/health/live` waited for it.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from harness.http_checks import token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

INVOKE = "/api/enterprise/agents/assistant/invoke"
PROBE_BOUND_SECONDS = 1.0
ANSWER_BOUND_SECONDS = 10.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("round(1, -10**8)", "ndigits"),
        ("round(1, -10**7)", "ndigits"),
        ("9**9**9**9", "exponent"),
        ("(7**1000)**1000", "exceeds 4096 bits"),
        ("(-8)**0.5", "not a real number"),
    ],
)
def test_a_hostile_expression_is_refused_while_probes_answer(
    server: PlatformServer, expression: str, reason: str
) -> None:
    answers: list[httpx.Response] = []

    def ask() -> None:
        with server.client(API_KEY, timeout=60) as client:
            question = f"{token()} use tool calculator: {expression}"
            answers.append(client.post(INVOKE, json={"input": question}))

    started = time.monotonic()
    asker = threading.Thread(target=ask)
    asker.start()
    probes: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30) as prober:
        while True:  # at least one probe, however quick the answer
            probe_started = time.monotonic()
            assert prober.get("/health/live").status_code == 200
            probes.append(time.monotonic() - probe_started)
            if not asker.is_alive() or time.monotonic() - started > ANSWER_BOUND_SECONDS:
                break
            time.sleep(0.05)
    asker.join(timeout=60)

    assert time.monotonic() - started < ANSWER_BOUND_SECONDS
    assert max(probes) < PROBE_BOUND_SECONDS, probes
    assert answers[0].status_code == 200, answers[0].text
    output = answers[0].json()["output"]
    assert output.startswith("The calculator tool returned:")
    assert reason in output
