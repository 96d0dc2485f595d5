"""PostgreSQL (the checkpointer) stopped and started again under a running service.

While it is down /health/ready answers 503 and agent runs fail fast with 503; once it is back the
service recovers by itself and no earlier turn of a conversation is lost. The cluster is this
module's own, so stopping it does not disturb the session's shared one.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from harness.http_checks import assert_problem, token, wait_until
from harness.postgres import LocalPostgres, postgres_bin_dir
from tests.conftest import API_KEY, Launcher

INVOKE = "/api/enterprise/agents/assistant/invoke"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[LocalPostgres]:
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries absent (apt-get install postgresql)")
    with LocalPostgres() as pg:
        yield pg


def _pg_ctl(pg: LocalPostgres, *args: str) -> None:
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user.
    user = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        [str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data_dir), *args],
        check=True,
        capture_output=True,
        user=user,
        cwd=pg.data_dir.parent,
        timeout=60,
    )


def stop_postgres(pg: LocalPostgres) -> None:
    _pg_ctl(pg, "-m", "fast", "-w", "stop")


def start_postgres(pg: LocalPostgres) -> None:
    # postmaster.opts keeps the command line of the last start: port, socket dir, settings.
    previous = shlex.split((pg.data_dir / "postmaster.opts").read_text())[1:]
    _pg_ctl(pg, "-l", str(pg.log_file), "-o", shlex.join(previous), "-w", "-t", "30", "start")


def test_postgres_down_then_back(launch: Launcher, own_postgres: LocalPostgres) -> None:
    server = launch(CHECKPOINTER_URL=own_postgres.url)
    thread_id = token("pg")
    turns = [f"turn one {token()}", f"turn two {token()}"]
    with server.client(API_KEY, timeout=30) as client:
        assert client.get("/health/ready").status_code == 200
        for turn in turns:
            response = client.post(INVOKE, json={"input": turn, "thread_id": thread_id})
            assert response.status_code == 200, response.text

        stop_postgres(own_postgres)
        try:
            wait_until(
                lambda: client.get("/health/ready").status_code == 503,
                timeout=15,
                what="/health/ready to say 503",
            )
            assert_problem(client.get("/health/ready"), 503, "checkpointer")
            health = client.get("/health")
            assert health.status_code == 503, health.text
            assert health.json()["status"] == "unhealthy", health.text
            assert client.get("/health/live").status_code == 200
            down = client.post(INVOKE, json={"input": "while down", "thread_id": token("pg-down")})
            assert_problem(down, 503)
            assert "Retry-After" in down.headers
        finally:
            start_postgres(own_postgres)

        wait_until(
            lambda: client.get("/health/ready").status_code == 200, timeout=30, interval=0.5, what="recovery"
        )
        history = client.get(f"/api/enterprise/agents/assistant/threads/{thread_id}")
        assert history.status_code == 200, history.text
        contents = [m["content"] for m in history.json()["messages"]]
        for turn in turns:
            assert turn in contents, contents
            assert f"Echo: {turn}" in contents, contents
        again = client.post(INVOKE, json={"input": "after recovery", "thread_id": thread_id})
        assert again.status_code == 200, again.text
