"""Replicas and workers starting together on a new PostgreSQL database: every one comes up, and the schema
is made once. The checkpointer's migrations build indexes CONCURRENTLY, which wait for every older
snapshot; a process waiting for the setup lock must therefore not sit in a statement while it waits."""

from __future__ import annotations

import pytest

from harness.http_checks import token
from harness.postgres import LocalPostgres
from tests.conftest import API_KEY, Launcher

ROUNDS = 2  # each on its own new database: the race is in the first seconds of a database's life
SERVERS = 3
WORKERS = 2


@pytest.fixture
def new_databases(postgres: LocalPostgres) -> list[str]:
    return [postgres.new_database(token("first_start").replace("-", "_")) for _ in range(ROUNDS)]


def test_servers_starting_together_on_a_new_database_all_come_up(
    launch: Launcher, new_databases: list[str]
) -> None:
    for url in new_databases:
        servers = [
            launch(workers=WORKERS, start=False, CHECKPOINTER_URL=url, LLM_MAX_RETRIES="0")
            for _ in range(SERVERS)
        ]
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_live()
            with server.client(API_KEY) as client:
                ready = client.get("/health/ready")
                assert ready.status_code == 200, ready.text
                answer = client.post(
                    "/api/enterprise/agents/plain/invoke",
                    json={"input": "after a shared first start"},
                )
                assert answer.status_code == 200, answer.text
        for server in servers:
            server.stop()
