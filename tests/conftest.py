"""Shared fixtures: the loopback LLM and LangSmith stubs, PostgreSQL, and service processes.

Stubs and PostgreSQL live for the whole session; service processes are started per module through
`launch` (and stopped when the module ends) so each module pays for its servers once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.platform_server import PlatformServer
from harness.postgres import LocalPostgres, postgres_bin_dir
from harness.stub_langsmith import StubLangSmith
from harness.stub_openai import StubOpenAI

AGENTS_FILE = Path(__file__).parent / "support" / "agents.yaml"
API_KEY = "test-api-key-5f1c2b7e9a"
OPENAI_KEY = "sk-stub-3d4e5f6a7b8c"

Launcher = Callable[..., PlatformServer]

# Servers of the current module, so a failing test's report can show what they logged.
_RUNNING: list[PlatformServer] = []


@pytest.fixture(scope="module")
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    """A client with the operator key to the module's own `server` fixture."""
    with server.client(api_key=API_KEY) as c:
        yield c


@pytest.fixture(scope="module")
def document(server: PlatformServer) -> dict[str, Any]:
    """The OpenAPI document the module's own `server` fixture publishes."""
    response = httpx.get(f"{server.url}/schema/openapi.json", timeout=10)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="session")
def stub_llm() -> Iterator[StubOpenAI]:
    with StubOpenAI() as stub:
        yield stub


@pytest.fixture(autouse=True)
def _stub_llm_back_to_echo(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that switches the shared stub into a fault mode cannot leak it into the next test."""
    yield
    if "stub_llm" in request.fixturenames:
        request.getfixturevalue("stub_llm").reset()


@pytest.fixture(scope="session")
def stub_langsmith() -> Iterator[StubLangSmith]:
    with StubLangSmith() as stub:
        yield stub


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries absent (apt-get install postgresql; .ci/run installs them)")
    with LocalPostgres() as pg:
        yield pg


@pytest.fixture(scope="session")
def postgres_url(postgres: LocalPostgres) -> str:
    return postgres.url


def service_env(data_dir: Path, llm: StubOpenAI) -> dict[str, str]:
    """The configuration every test server starts from: stub LLM, one API key, the test agents."""
    return {
        "DATA_DIR": str(data_dir),
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "API_KEY": API_KEY,
        "AGENTS_CONFIG": str(AGENTS_FILE),
        "LOG_LEVEL": "INFO",
        "LANGSMITH_TRACING": "false",
        "SHUTDOWN_GRACE_SECONDS": "15",
    }


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory, stub_llm: StubOpenAI) -> Iterator[Launcher]:
    """`launch(workers=1, start=True, unset=(), data_dir=None, **env)` starts a service process.

    Keyword arguments in upper case override or add environment variables; names in `unset` are
    removed (e.g. OPENAI_API_KEY for the no-key case). Every server is stopped when the module ends.
    """
    servers: list[PlatformServer] = []

    def _launch(
        *,
        workers: int = 1,
        start: bool = True,
        unset: tuple[str, ...] = (),
        data_dir: Path | None = None,
        **env: str,
    ) -> PlatformServer:
        tmp = tmp_path_factory.mktemp("server")
        data = data_dir or tmp / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = {**service_env(data, stub_llm), **env}
        for name in unset:
            config.pop(name, None)
        server = PlatformServer(config, tmp / "server.log", workers=workers)
        servers.append(server)
        _RUNNING.append(server)
        if start:
            server.start()
        return server

    yield _launch
    for server in servers:
        server.stop()
        _RUNNING.remove(server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when == "call":
        for index, server in enumerate(_RUNNING):
            report.sections.append((f"server {index} log ({server.url})", server.log_tail(40)))
    return report


def pytest_report_header() -> list[str]:
    pg = postgres_bin_dir()
    return [f"postgres binaries: {pg or 'absent (postgres tests skip)'}; running as uid {os.geteuid()}"]
