"""The fleet under load: every operation an operator runs must fail no client request.

Driven from the controller: harness/loadgen.py sends a bounded mix of agent calls to the balancer's port
published on 127.0.0.1 while these tests run the project's playbooks against Molecule's inventory, or
stop an app host's Docker Engine. The tests run in file order: each one starts from the fleet the
previous one left (0.1.0 after converge, then 0.1.1, ...).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fleet_hosts import (
    API_KEY,
    APP_HOSTS,
    INVOKE,
    LB_URL,
    assert_no_change,
    docker_exec,
    lb_servers,
    load,
    playbook,
    record,
    replicas,
)

GOOD = "0.1.1"
# A release whose agents do not load: it starts and is live, but with the fleet's LLM key it must serve
# agents, so it never turns ready (the readiness gate, not a crash, stops it).
BROKEN = "0.1.3-broken-agents"
# Each step runs whole playbooks on four hosts: far above the suite's default per-test timeout.
pytestmark = pytest.mark.timeout(2400)


def image_vars(version: str) -> dict[str, Any]:
    return {"platform_deploy_version": version}


def scale_vars(replicas: int) -> dict[str, Any]:
    return {**image_vars(GOOD), "platform_deploy_replicas": replicas}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=LB_URL, headers={"X-API-Key": API_KEY}, timeout=60) as c:
        yield c


def test_balancer_serves_every_app_host(client: httpx.Client) -> None:
    assert set(lb_servers().values()) == {(2, 0)}
    seen = {client.get("/health/ready").headers["X-Served-By"] for _ in range(10)}
    assert seen == {"app1:1", "app2:1"}


def test_conversation_continues_on_whichever_host_answers(client: httpx.Client) -> None:
    thread = f"fleet-{uuid.uuid4().hex[:8]}"
    served_by = []
    for turn in range(6):
        r = client.post(INVOKE, json={"input": f"turn {turn}", "thread_id": thread})
        assert r.status_code == 200, r.text
        served_by.append(r.headers["X-Served-By"])
    # The turns were spread over both hosts, and each host returns the whole conversation.
    assert {s.split(":")[0] for s in served_by} == set(APP_HOSTS), served_by
    expected = [f"turn {t}" for t in range(6)]
    histories: dict[str, list[str]] = {}
    for _ in range(10):
        r = client.get(f"/api/enterprise/agents/assistant/threads/{thread}")
        assert r.status_code == 200, r.text
        host = r.headers["X-Served-By"].split(":")[0]
        histories[host] = [m["content"] for m in r.json()["messages"] if m["role"] == "user"]
    assert histories == {host: expected for host in APP_HOSTS}


def test_rolling_deploy_fails_no_request() -> None:
    with load() as run:
        rc, recap, out, seconds = playbook("deploy.yml", image_vars(GOOD))
    summary = run.result()
    record(f"rolling deploy {GOOD}", summary, seconds)
    assert rc == 0, out[-3000:]
    assert summary["failures"] == 0, summary["failure_examples"]
    assert summary["requests"] > 0
    for host in APP_HOSTS:
        assert {r["version"] for r in replicas(host).values()} == {GOOD}
    assert set(lb_servers().values()) == {(2, 0)}

    rc, recap, out, seconds = playbook("deploy.yml", image_vars(GOOD))
    record("deploy no-op re-run", None, seconds)
    assert rc == 0, out[-3000:]
    assert_no_change(recap)


@pytest.mark.parametrize(("count", "step"), [(3, "scale out 1 -> 3"), (1, "scale in 3 -> 1")])
def test_scaling_replicas_fails_no_request(count: int, step: str) -> None:
    with load() as run:
        rc, recap, out, seconds = playbook("scale.yml", scale_vars(count))
    summary = run.result()
    record(step, summary, seconds)
    assert rc == 0, out[-3000:]
    assert summary["failures"] == 0, summary["failure_examples"]
    expected = {f"{h}:{n}" for h in APP_HOSTS for n in range(1, count + 1)}
    assert set(lb_servers()) == expected
    assert set(lb_servers().values()) == {(2, 0)}
    for host in APP_HOSTS:
        running = replicas(host)
        assert len(running) == count
        assert {r["version"] for r in running.values()} == {GOOD}

    rc, recap, out, seconds = playbook("scale.yml", scale_vars(count))
    record(f"{step}: no-op re-run", None, seconds)
    assert rc == 0, out[-3000:]
    assert_no_change(recap)


def test_broken_version_stops_at_the_first_host_and_fails_no_request() -> None:
    before = {host: replicas(host) for host in APP_HOSTS}
    with load() as run:
        rc, recap, out, seconds = playbook("deploy.yml", image_vars(BROKEN))
    summary = run.result()
    record(f"broken deploy {BROKEN}", summary, seconds)
    assert rc != 0, "the rollout of a release that never turns ready must fail"
    assert "no 200 from /health/ready" in " ".join(out.split()), out[-3000:]
    assert recap["app1"].failed > 0
    assert "app2" not in recap or recap["app2"].ok == 0, "the second host must not be touched"
    assert summary["failures"] == 0, summary["failure_examples"]
    after = {host: replicas(host) for host in APP_HOSTS}
    # app1 runs the previous version again (a new container), app2 still runs the very same containers.
    assert {r["version"] for r in after["app1"].values()} == {GOOD}
    assert after["app2"] == before["app2"]
    assert "rollback" in docker_exec("app1", "cat", "/var/lib/langchain-platform/releases.log")
    assert set(lb_servers().values()) == {(2, 0)}


def test_stopped_app_host_is_routed_around() -> None:
    with load() as run:
        time.sleep(3)
        # The whole host goes down (its dockerd runs with live-restore, so stopping only the engine
        # would leave the containers serving).
        subprocess.run(["docker", "stop", "app2"], check=True, capture_output=True, timeout=120)
        # Long enough for the health checks to mark it down and for traffic to go on without it.
        time.sleep(15)
        down = lb_servers()
    summary = run.result()
    record("app2 host stopped", summary, None)
    assert down["app2:1"][0] == 0, down
    assert summary["failures"] == 0, summary["failure_examples"]

    # The host comes back empty (its image store was on tmpfs): scale.yml rebuilds it and the
    # balancer takes it back, still without failing a request; a second run finds nothing to do.
    subprocess.run(["docker", "start", "app2"], check=True, capture_output=True, timeout=120)
    with load() as run:
        rc, recap, out, seconds = playbook("scale.yml", scale_vars(1))
    summary = run.result()
    record("app2 host rebuilt", summary, seconds)
    assert rc == 0, out[-3000:]
    assert summary["failures"] == 0, summary["failure_examples"]
    assert lb_servers() == {"app1:1": (2, 0), "app2:1": (2, 0)}
    rc, recap, out, seconds = playbook("scale.yml", scale_vars(1))
    assert rc == 0, out[-3000:]
    assert_no_change(recap)
