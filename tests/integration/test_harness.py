"""The loopback stubs as standalone scripts (how test containers and benchmarks run them).

Run with an isolated interpreter (`python3 -I`, no site-packages) to prove they need only the
standard library.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from harness import REPO_ROOT
from harness.http_checks import parse_sse, wait_until
from harness.ports import free_port

# By path, as Molecule's prepare step copies the OpenAI stub into test hosts.
SCRIPTS = REPO_ROOT / "harness"
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable


def run_script(name: str, *args: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-I", str(SCRIPTS / name), "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), timeout=10, what=f"{name} to listen")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/_requests", timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.fixture(scope="module")
def llm() -> Iterator[str]:
    yield from run_script("stub_openai.py", "--latency-ms", "100")


@pytest.fixture(scope="module")
def langsmith() -> Iterator[str]:
    yield from run_script("stub_langsmith.py")


def chat(url: str, **body: object) -> httpx.Response:
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello stub"}], **body}
    return httpx.post(f"{url}/v1/chat/completions", json=payload, headers={"Authorization": "Bearer sk-x"})


def test_models_and_an_echo_answer_with_base_latency(llm: str) -> None:
    models = httpx.get(f"{llm}/v1/models").json()
    assert models["data"][0]["id"] == "gpt-4o-mini"
    started = time.monotonic()
    answer = chat(llm).json()
    assert time.monotonic() - started >= 0.1
    assert answer["choices"][0]["message"]["content"] == "Echo: hello stub"
    assert answer["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}


def test_streaming_with_usage(llm: str) -> None:
    response = chat(llm, stream=True, stream_options={"include_usage": True})
    assert response.headers["content-type"] == "text/event-stream"
    events = [e.data for e in parse_sse(response.text)]
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: hello stub"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 5


def test_tool_call_then_tool_result(llm: str) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "calculator",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    }
    asked = [{"role": "user", "content": "use tool calculator: 2+3"}]
    first = chat(llm, messages=asked, tools=[tool]).json()["choices"][0]
    assert first["finish_reason"] == "tool_calls"
    call = first["message"]["tool_calls"][0]
    assert call["function"] == {"name": "calculator", "arguments": json.dumps({"expression": "2+3"})}
    followup = [*asked, first["message"], {"role": "tool", "tool_call_id": call["id"], "content": "5"}]
    second = chat(llm, messages=followup, tools=[tool]).json()["choices"][0]
    assert second["message"]["content"] == "The calculator tool returned: 5"


def test_faults_by_marker_and_by_control(llm: str) -> None:
    marked = chat(llm, messages=[{"role": "user", "content": "[stub:429] hi"}])
    assert marked.status_code == 429
    assert chat(llm, messages=[{"role": "user", "content": "[stub:garbage]"}]).text.startswith("<html>")
    httpx.post(f"{llm}/_control", json={"fail_next_n": 2, "status": 503})
    assert [chat(llm).status_code for _ in range(3)] == [503, 503, 200]
    httpx.post(f"{llm}/_control", json={"mode": "500"})
    assert chat(llm).status_code == 500
    httpx.post(f"{llm}/_control", json={"reset": True})
    assert chat(llm).status_code == 200
    assert httpx.post(f"{llm}/_control", json={"mode": "nonsense"}).status_code == 400


def test_requests_are_recorded_and_cleared(llm: str) -> None:
    httpx.delete(f"{llm}/_requests")
    chat(llm)
    (recorded,) = httpx.get(f"{llm}/_requests").json()
    assert recorded["headers"]["authorization"] == "Bearer sk-x"
    assert recorded["body"]["messages"] == [{"role": "user", "content": "hello stub"}]
    httpx.delete(f"{llm}/_requests")
    assert httpx.get(f"{llm}/_requests").json() == []


def test_langsmith_stub_merges_posted_and_patched_runs(langsmith: str) -> None:
    info = httpx.get(f"{langsmith}/info").json()
    assert info["batch_ingest_config"]["use_multipart_endpoint"] is True
    run = {"id": "r1", "name": "agent", "run_type": "chain", "session_name": "p", "inputs": {"q": 1}}
    assert httpx.post(f"{langsmith}/runs/batch", json={"post": [run]}).status_code == 202
    assert (
        httpx.patch(f"{langsmith}/runs/r1", json={"outputs": {"a": 2}, "end_time": "now"}).status_code == 200
    )
    (stored,) = httpx.get(f"{langsmith}/_runs").json()
    assert stored == {**run, "outputs": {"a": 2}, "end_time": "now"}
