"""Fixtures of the Agent Server API modules: the state store each runs on, and the SDK client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from harness.platform_server import PlatformServer
from tests.conftest import API_KEY


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def state_store(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that puts a module's server on SQLite (the default) or on a real PostgreSQL."""
    if request.param == "postgresql":
        return {"CHECKPOINTER_URL": request.getfixturevalue("postgres_url")}
    return {}


@pytest.fixture(scope="module")
def sdk(server: PlatformServer) -> Iterator[SyncLangGraphClient]:
    """The official langgraph-sdk client on the module's server, with the tests' key."""
    with get_sync_client(url=server.url, api_key=API_KEY) as client:
        yield client
