"""What ``serve`` imports before uvicorn starts its workers: with several workers the supervisor
never loads the app, so it must not pay for the app's stack (about a second of CPU here) before the
first worker even starts; and the protocol it names must be the one with the service's limits."""

from __future__ import annotations

import json
import subprocess
import sys

from langchain_platform.cli import HTTP_PROTOCOL
from langchain_platform.http_limits import LimitedHttpToolsProtocol
from uvicorn.importer import import_from_string

APP_STACK = ("litestar", "prometheus_client", "langchain_core", "langgraph", "openai")

# What `_serve` imports up to uvicorn.run, in a fresh interpreter.
SUPERVISOR_IMPORTS = """
import json, sys
import langchain_platform.cli, uvicorn
from langchain_platform.observability.metrics_dir import MULTIPROC_ENV
from langchain_platform.state.run_guard import BOOT_ID_ENV, new_boot_id
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_supervisor_imports_none_of_the_app_stack() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUPERVISOR_IMPORTS], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "uvicorn" in loaded
    assert not loaded & set(APP_STACK)


def test_the_protocol_path_names_the_limited_protocol() -> None:
    assert import_from_string(HTTP_PROTOCOL) is LimitedHttpToolsProtocol
