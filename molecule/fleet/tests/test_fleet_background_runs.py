"""Background runs of the Agent Server API survive the replica that holds them: it is killed mid-run and
every run still ends `success`, once, with the result joined through the balancer from the other replica.

Runs after test_fleet.py (Molecule passes the modules in name order), on the fleet it leaves: one replica per
app host, both up on the balancer; it leaves the fleet that way. Driven from the controller with the
official langgraph-sdk client through the balancer's published port.

Each run asks the stub LLM for a calculator call (its first LLM call), then answers from the tool's result
(its final call). The stub holds its answers back while the runs start, so the kill lands while every run
waits for its first answer, and answers at once from the kill on. SIGKILL, not `docker stop`: a stopping
server hands its runs back, a dead one only stops renewing their leases, so the other replica takes them
once the lease expired (``attempt`` 2; they then wait for their threads' own run leases, 30 s, that the
dead holder left) and continues from the thread's last checkpoint, which the killed attempt wrote: the
input is not sent again, the first call is (the killed one was never answered) and the final call is made
once. So in the stub's request log a retried run shows two first calls and one final call, every other
run one of each.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fleet_hosts import API_KEY, APP_HOSTS, LB_URL, docker_exec, lb_servers, stub
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.schema import StreamPart

from harness.agent_server_calls import contents, last_text, user
from harness.http_checks import token

RUNS = 8
# How long the stub holds back the first answers: room to create the runs, see every one waiting and kill
# (each look is a `docker exec`, slow on a busy machine) before any run gets to its final call.
HOLD_MS = 25_000
# Prints the stub's answer on db1 (port 8999 is not published there); argv: method, path, JSON body or "".
pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class Run:
    tag: str
    operand: int
    thread_id: str
    run_id: str


@dataclass(frozen=True)
class RunRecord:
    """A run's row in the run table on db1."""

    status: str
    attempt: int
    holder: str | None


def run_table(runs: list[Run]) -> dict[str, RunRecord]:
    """Run id -> its row, read as the database's superuser."""
    ids = ", ".join(f"'{uuid.UUID(run.run_id)}'" for run in runs)
    out = docker_exec(
        "db1",
        "runuser",
        "-u",
        "postgres",
        "--",
        "psql",
        "-d",
        "langchain_platform",
        "-AtF",
        "|",
        "-c",
        "SELECT run_id, status, attempt, coalesce(holder, '') FROM agent_server_runs "
        f"WHERE run_id IN ({ids})",
    )
    rows = [line.split("|") for line in out.splitlines() if line]
    return {
        run_id: RunRecord(status, int(attempt), holder or None) for run_id, status, attempt, holder in rows
    }


def replica_hostnames(host: str) -> dict[str, str]:
    """The hostname each replica on an app host runs under (the first part of the run table's holder)
    -> its container name."""
    names = docker_exec(
        host, "docker", "ps", "--filter", "name=langchain-platform", "--format", "{{.Names}}"
    ).split()
    return {docker_exec(host, "docker", "inspect", "-f", "{{.Config.Hostname}}", n).strip(): n for n in names}


def host_servers(host: str) -> dict[str, tuple[int, int]]:
    return {name: state for name, state in lb_servers().items() if name.split(":")[0] == host}


def wait_for(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.3)


def first_event(sdk: SyncLangGraphClient, run: Run) -> StreamPart:
    first, *_ = sdk.runs.join_stream(run.thread_id, run.run_id)
    return first


def calls_of(log: list[dict[str, Any]], tag: str) -> dict[str, list[dict[str, Any]]]:
    """A run's chat requests by kind: ``first`` (answering the user: the tool call) and ``final``
    (answering the tool's result)."""
    mine = [entry for entry in log if tag in json.dumps(entry.get("body"))]
    kinds: dict[str, list[dict[str, Any]]] = {"first": [], "final": [], "other": []}
    for entry in mine:
        role = entry["body"]["messages"][-1]["role"]
        kinds["first" if role == "user" else "final" if role == "tool" else "other"].append(entry)
    return kinds


def test_runs_of_a_killed_replica_end_once_through_the_other() -> None:
    assert set(lb_servers().values()) == {(2, 0)}
    replicas = {name: (host, c) for host in APP_HOSTS for name, c in replica_hostnames(host).items()}
    stub("DELETE", "/_requests")  # only this module reads the log: it starts with this test's requests
    started = time.monotonic()
    with get_sync_client(url=LB_URL, api_key=API_KEY) as sdk:

        def start(operand: int) -> Run:
            tag = token("fleet-bg")
            thread_id = sdk.threads.create()["thread_id"]
            created = sdk.runs.create(
                thread_id, "assistant", input=user(f"{tag} use tool calculator: {operand}*7")
            )
            return Run(tag, operand, thread_id, created["run_id"])

        def all_waiting_for_first_answer() -> bool:
            rows = run_table(runs)
            log = stub("GET", "/_requests")
            return all(
                rows[run.run_id].status == "running" and len(calls_of(log, run.tag)["first"]) == 1
                for run in runs
            )

        stub("POST", "/_control", {"delay_ms": HOLD_MS})
        try:
            # All at once: the balancer (least connections) spreads them, and the replica each one lands
            # on takes it at once, so both replicas hold runs.
            with ThreadPoolExecutor(RUNS) as pool:
                runs = list(pool.map(start, range(1, RUNS + 1)))
            wait_for(
                "every run holds a replica and waits for its first answer", all_waiting_for_first_answer, 20
            )
            rows = run_table(runs)
            holders = {run.tag: replicas[str(rows[run.run_id].holder).split(":")[0]] for run in runs}
            (victim_host, victim), _ = Counter(holders.values()).most_common(1)[0]
            docker_exec(victim_host, "docker", "kill", victim)
            killed = time.monotonic()
        finally:
            stub("POST", "/_control", {"delay_ms": 0})
        retried = {tag for tag, holder in holders.items() if holder == (victim_host, victim)}
        try:
            # No run had got to its final call when the holder died.
            assert all(calls_of(stub("GET", "/_requests"), run.tag)["final"] == [] for run in runs)
            wait_for(
                f"the balancer marks {victim_host} down",
                lambda: all(op == 0 for op, _ in host_servers(victim_host).values()),
                20,
            )
            with ThreadPoolExecutor(RUNS) as pool:
                joined = dict(
                    zip(
                        [run.tag for run in runs],
                        pool.map(lambda run: sdk.runs.join(run.thread_id, run.run_id), runs),
                        strict=True,
                    )
                )
            ended = time.monotonic()
            # Still down: every join was answered by the other replica.
            still_down = host_servers(victim_host)
            statuses = {run.tag: sdk.runs.get(run.thread_id, run.run_id)["status"] for run in runs}
            # The run ended: joining its stream replays what it stored, its metadata event first.
            metadata = {run.tag: first_event(sdk, run) for run in runs}
            states = {run.tag: sdk.threads.get_state(run.thread_id)["values"] for run in runs}
        finally:
            docker_exec(victim_host, "docker", "start", victim)
            wait_for(
                f"{victim_host} back on the balancer", lambda: set(lb_servers().values()) == {(2, 0)}, 120
            )
    restored = time.monotonic()
    rows = run_table(runs)
    log = stub("GET", "/_requests")
    print(
        f"[fleet] background runs: {RUNS} runs, {len(retried)} held by {victim_host} when killed "
        f"{killed - started:.1f} s in, all joined {ended - killed:.1f} s after the kill, "
        f"attempts {dict(Counter(row.attempt for row in rows.values()))}, "
        f"{victim_host} back {restored - ended:.1f} s later, {restored - started:.1f} s in all"
    )

    assert all(op == 0 for op, _ in still_down.values()), still_down
    for run in runs:
        tag = run.tag
        answer = f"The calculator tool returned: {run.operand * 7}"
        expected_attempt = 2 if tag in retried else 1
        assert statuses[tag] == "success", (tag, statuses[tag])
        assert rows[run.run_id] == RunRecord("success", expected_attempt, None), (tag, rows[run.run_id])
        assert metadata[tag].event == "metadata"
        assert metadata[tag].data == {"run_id": run.run_id, "attempt": expected_attempt}
        # One turn in the thread: the retry continued from the checkpoint instead of sending the input again.
        for values in (joined[tag], states[tag]):
            assert isinstance(values, dict), (tag, values)
            assert [kind for kind, _ in contents(values)] == ["human", "ai", "tool", "ai"], (tag, values)
            assert last_text(values) == answer
        calls = calls_of(log, tag)
        assert len(calls["final"]) == 1, (tag, calls["final"])
        assert calls["final"][0]["response"]["text"] == answer
        # The killed attempt's first call was never answered: the retry asked again.
        assert len(calls["first"]) == expected_attempt, (tag, calls["first"])
        assert calls["other"] == []
        for call in calls["first"] + calls["final"]:
            assert [m["role"] for m in call["body"]["messages"]].count("user") == 1, (tag, call["body"])
