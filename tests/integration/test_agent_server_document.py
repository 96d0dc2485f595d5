"""The Agent Server API in the OpenAPI document: its operations are there, its bodies admit what the
server serves (so what the SDK may send and this server does not serve is a 422 by the body's type),
and what the document leaves out still answers as before: writes to assistants are the router's 405
with its `Allow` and the agents-file reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk.client import SyncLangGraphClient

from harness.agent_server_calls import last_text, user
from harness.http_checks import assert_problem, token
from harness.openapi_cases import operations
from harness.platform_server import PlatformServer
from tests.conftest import Launcher


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch()


def test_the_document_lists_the_agent_server_operations(document: dict[str, Any]) -> None:
    labels = {op.label for op in operations(document) if "agent-server" in op.spec.get("tags", [])}
    assert {
        "GET /ok",
        "POST /assistants/search",
        "GET /assistants/{assistant_id}",
        "POST /threads",
        "POST /threads/{thread_id}/runs/stream",
        "POST /runs/wait",
        "POST /threads/{thread_id}/runs/{run_id}/cancel",
    } <= labels, labels
    # Only ever refused: a documented operation would promise that some request to it succeeds.
    assert not {"POST /assistants", "PATCH /assistants/{assistant_id}", "POST /runs/batch"} & labels


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "PUT", "POST"])
def test_a_write_to_an_assistant_is_a_405_naming_the_agents_file(client: httpx.Client, method: str) -> None:
    problem = assert_problem(client.request(method, "/assistants/plain", json={}), 405)
    assert "agents file" in problem["detail"]
    answer = client.request(method, "/assistants/plain", json={})
    assert (
        answer.headers["allow"]
        == client.options("/assistants/plain").headers["allow"]
        == "GET, HEAD, OPTIONS"
    )


def test_other_405s_keep_the_platform_detail(client: httpx.Client) -> None:
    problem = assert_problem(client.get("/assistants/search"), 405)
    assert "agents file" not in problem["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/runs/wait", {"feedback_keys": ["score"]}, "feedback_keys"),
        ("/runs/wait", {"langsmith_tracer": {}}, "langsmith_tracer"),
        ("/runs/wait", {"strict_resume": True}, "strict_resume"),
        ("/runs/wait", {"on_completion": "keep"}, "on_completion"),
        ("/runs/stream", {"checkpoint_id": "cp-1"}, "checkpoint_id"),
        ("/threads/search", {"values": {"a": 1}}, "values"),
        ("/threads", {"supersteps": [{"updates": []}]}, "supersteps"),
    ],
)
def test_a_field_this_server_does_not_serve_is_a_422_naming_it(
    client: httpx.Client, path: str, body: dict[str, Any], field: str
) -> None:
    if path.startswith("/runs"):
        body = {"assistant_id": "plain", "input": user("x"), **body}
    assert field in assert_problem(client.post(path, json=body), 422)["detail"]


def test_a_thread_update_of_several_states_is_a_422(client: httpx.Client) -> None:
    thread_id = client.post("/threads", json={}).json()["thread_id"]
    answer = client.post(f"/threads/{thread_id}/state", json={"values": [{"messages": []}]})
    assert "values" in assert_problem(answer, 422)["detail"]


def test_what_the_sdk_sends_by_default_is_served(sdk: SyncLangGraphClient) -> None:
    # stream_resumable=False and stream_subgraphs=False go with every run the SDK starts.
    tag = token()
    values = sdk.runs.wait(None, "plain", input=user(f"{tag} plain"))
    assert isinstance(values, dict)
    assert last_text(values) == f"Echo: {tag} plain"


def test_runs_the_run_table_serves_are_served_without_a_thread_too(sdk: SyncLangGraphClient) -> None:
    tag = token()
    waited = sdk.runs.wait(None, "plain", input=user(f"{tag} later"), after_seconds=1)
    assert isinstance(waited, dict)
    assert last_text(waited) == f"Echo: {tag} later"
    streamed = list(sdk.runs.stream(None, "plain", input=user(f"{tag} kept"), stream_resumable=True))
    assert streamed[0].event == "metadata"
    assert last_text(streamed[-1].data) == f"Echo: {tag} kept"


def test_a_resumable_stream_on_a_thread_can_be_joined_again(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    first = list(sdk.runs.stream(thread_id, "plain", input=user(f"{tag} again"), stream_resumable=True))
    run_id = first[0].data["run_id"]
    assert sdk.runs.get(thread_id, run_id)["status"] == "success"
    joined = list(sdk.runs.join_stream(thread_id, run_id))
    assert last_text(joined[-1].data) == f"Echo: {tag} again"


def test_a_command_takes_the_place_of_the_input(sdk: SyncLangGraphClient, client: httpx.Client) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    sdk.runs.wait(thread_id, "plain", input=user(f"{tag} first"))
    body = {
        "assistant_id": "plain",
        "input": user(f"{tag} ignored"),
        "command": {"update": {"messages": [{"role": "user", "content": f"{tag} from the command"}]}},
    }
    assert client.post(f"/threads/{thread_id}/runs/wait", json=body).status_code == 200
    values = sdk.threads.get_state(thread_id)["values"]
    assert isinstance(values, dict)
    messages = [m["content"] for m in values["messages"]]
    assert f"{tag} from the command" in messages
    assert not any("ignored" in str(m) for m in messages)
    # An empty command asks for nothing: the input runs.
    empty = {"assistant_id": "plain", "input": user(f"{tag} second"), "command": {}}
    assert (
        last_text(client.post(f"/threads/{thread_id}/runs/wait", json=empty).json()) == f"Echo: {tag} second"
    )
