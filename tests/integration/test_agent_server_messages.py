"""Stream mode ``messages`` through the real `langgraph_sdk` client: per message id a
``messages/metadata`` first, ``messages/partial`` events whose message grows token by token, one
``messages/complete``; a tool's answer arrives complete. Alone, among other modes, and in the joined
stream of a background run."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from langgraph_sdk.client import SyncLangGraphClient

from harness.agent_server_calls import user
from harness.http_checks import token
from harness.platform_server import PlatformServer
from tests.conftest import Launcher

Part = tuple[str, Any]


@pytest.fixture(scope="module")
def server(launch: Launcher, state_store: dict[str, str]) -> PlatformServer:
    return launch(LLM_MAX_RETRIES="0", **state_store)


def parts(sdk: SyncLangGraphClient, thread_id: str | None, **kwargs: Any) -> list[Part]:
    return [(part.event, part.data) for part in sdk.runs.stream(thread_id, **kwargs)]


def message_parts(stream: list[Part]) -> list[Part]:
    return [(event, data) for event, data in stream if event.startswith("messages/")]


def by_message(stream: list[Part]) -> dict[str, list[Part]]:
    """Each message id's events, in order; every partial or complete event carries one message."""
    grouped: dict[str, list[Part]] = {}
    for event, data in message_parts(stream):
        if event == "messages/metadata":
            [message_id] = data
            grouped.setdefault(message_id, []).append((event, data[message_id]))
            continue
        [message] = data
        grouped.setdefault(message["id"], []).append((event, message))
    return grouped


def check_sequence(events: list[Part]) -> dict[str, Any]:
    """Metadata first, partials that grow, one complete (last) equal to what the partials built;
    the complete message is returned."""
    names = [event for event, _ in events]
    assert names[0] == "messages/metadata", names
    assert "langgraph_node" in events[0][1]["metadata"]
    assert names.count("messages/metadata") == 1, names
    assert names.count("messages/complete") == 1, names
    assert names[-1] == "messages/complete", names
    partials = [message["content"] for event, message in events if event == "messages/partial"]
    for shorter, longer in itertools.pairwise(partials):
        assert longer.startswith(shorter), partials
    complete: dict[str, Any] = events[-1][1]
    if partials:
        assert complete["content"] == partials[-1]
    return complete


def test_a_streamed_answer_grows_then_completes_once(sdk: SyncLangGraphClient) -> None:
    tag = token()
    stream = parts(
        sdk, None, assistant_id="plain", input=user(f"{tag} four words here"), stream_mode="messages"
    )
    assert stream[0][0] == "metadata"
    assert {event for event, _ in stream[1:]} == {
        "messages/metadata",
        "messages/partial",
        "messages/complete",
    }
    [events] = by_message(stream).values()
    complete = check_sequence(events)
    assert complete["type"] == "ai"
    assert complete["content"] == f"Echo: {tag} four words here"
    partials = [message for event, message in events if event == "messages/partial"]
    assert len(partials) >= 4  # one per streamed word at least
    assert all(message["type"] == "ai" for message in partials)


def test_tool_calls_and_tool_answers(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    stream = parts(
        sdk,
        thread_id,
        assistant_id="assistant",
        input=user(f"{tag} use tool calculator: 2+3"),
        stream_mode="messages",
    )
    grouped = by_message(stream)
    completes = [check_sequence(events) for events in grouped.values()]
    assert [message["type"] for message in completes] == ["ai", "tool", "ai"]
    call, answer, final = completes
    assert call["tool_calls"][0]["name"] == "calculator"
    # The tool's answer was never streamed: it arrives complete, right after its metadata.
    assert [event for event, _ in grouped[answer["id"]]] == ["messages/metadata", "messages/complete"]
    assert answer["content"] == "5"
    assert final["content"] == "The calculator tool returned: 5"
    # What the stream completed is what the thread holds.
    values: Any = sdk.threads.get_state(thread_id)["values"]
    state = values["messages"]
    assert [m["id"] for m in state[-3:]] == [call["id"], answer["id"], final["id"]]


def test_messages_among_other_modes(sdk: SyncLangGraphClient) -> None:
    tag = token()
    stream = parts(
        sdk,
        None,
        assistant_id="plain",
        input=user(f"{tag} mixed modes"),
        stream_mode=["messages", "messages-tuple", "values"],
    )
    kinds = {event for event, _ in stream}
    assert kinds == {
        "metadata",
        "messages/metadata",
        "messages/partial",
        "messages/complete",
        "messages",
        "values",
    }
    [events] = by_message(stream).values()
    assert check_sequence(events)["content"] == f"Echo: {tag} mixed modes"
    tuples: list[Any] = [data for event, data in stream if event == "messages"]
    assert "".join(chunk["content"] for chunk, _ in tuples) == f"Echo: {tag} mixed modes"
    # "updates" feeds the complete events; it is not sent unless asked for.
    assert "updates" not in kinds
    with_updates = parts(
        sdk, None, assistant_id="plain", input=user(f"{tag} updates too"), stream_mode=["messages", "updates"]
    )
    assert [event for event, _ in with_updates if event == "updates"] == ["updates"]


def test_joined_stream_of_a_background_run(sdk: SyncLangGraphClient) -> None:
    tag = token()
    thread_id = sdk.threads.create()["thread_id"]
    run = sdk.runs.create(
        thread_id, "plain", input=user(f"{tag} in the background"), stream_mode=["messages", "updates"]
    )
    joined = [(part.event, part.data) for part in sdk.runs.join_stream(thread_id, run["run_id"])]
    [events] = by_message(joined).values()
    assert check_sequence(events)["content"] == f"Echo: {tag} in the background"
    assert "updates" in {event for event, _ in joined}
    # Joined again, asking for "messages" only: the stored updates are left out.
    again = [
        (part.event, part.data)
        for part in sdk.runs.join_stream(thread_id, run["run_id"], stream_mode="messages")
    ]
    assert {event for event, _ in again} == {
        "metadata",
        "messages/metadata",
        "messages/partial",
        "messages/complete",
    }
    assert message_parts(again) == message_parts(joined)
