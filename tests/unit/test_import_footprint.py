"""What the service imports while it serves: faker and polyfactory (Litestar's example and test
data generators) must never be among them, so the image can leave them out; and with SQLite state,
the PostgreSQL driver stays out too (it costs a cold start 0.3 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.stub_openai import StubOpenAI
from tests.conftest import API_KEY, service_env

NEVER_IMPORTED = ("faker", "polyfactory")
POSTGRES_ONLY = ("psycopg", "psycopg_pool")

# Runs in a fresh interpreter: the test process has imported far more than the service would.
SERVE_EVERY_KIND_OF_REQUEST = """
import json, sys
from langchain_platform.app import create_app
from litestar.testing import TestClient

headers = {"X-API-Key": sys.argv[1]}
agent = "/api/enterprise/agents/assistant"
with TestClient(create_app()) as client:
    statuses = [
        client.get("/health").status_code,
        client.get("/schema/openapi.json").status_code,
        client.get("/metrics").status_code,
        client.post(f"{agent}/invoke", json={"input": "hi"}, headers=headers).status_code,
        client.post(f"{agent}/stream", json={"input": "hi"}, headers=headers).status_code,
    ]
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"statuses": statuses, "modules": loaded}))
"""


def test_serving_never_imports_faker_or_polyfactory(tmp_path: Path, stub_llm: StubOpenAI) -> None:
    env = service_env(tmp_path / "data", stub_llm)
    env["CHECKPOINTER_URL"] = f"sqlite:///{tmp_path / 'data' / 'state.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-c", SERVE_EVERY_KIND_OF_REQUEST, API_KEY],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [200, 200, 200, 200, 200]
    assert "litestar" in report["modules"]
    assert not set(NEVER_IMPORTED) & set(report["modules"])
    assert not set(POSTGRES_ONLY) & set(report["modules"])
