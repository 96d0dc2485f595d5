"""CHECKPOINT_DURABILITY: parsed once, and handed to LangGraph by every run that has a checkpointer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.principals import OPERATOR
from langchain_platform.settings import ConfigError, Settings
from langgraph.pregel import Pregel

from harness.stub_openai import StubOpenAI
from tests.conftest import service_env


def test_setting_defaults_to_async_and_refuses_unknown_modes(tmp_path: Path) -> None:
    base = {"DATA_DIR": str(tmp_path), "API_KEY_ENABLED": "false"}
    assert Settings.from_env(base).checkpoint_durability == "async"
    for mode in ("sync", "async", "exit"):
        assert Settings.from_env(base | {"CHECKPOINT_DURABILITY": mode.upper()}).checkpoint_durability == mode
    with pytest.raises(ConfigError, match="CHECKPOINT_DURABILITY"):
        Settings.from_env(base | {"CHECKPOINT_DURABILITY": "never"})


@pytest.mark.parametrize("mode", ["sync", "exit"])
async def test_runs_pass_the_mode_and_stateless_runs_none(
    tmp_path: Path, stub_llm: StubOpenAI, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    seen: list[Any] = []
    original = Pregel.astream

    def recording_astream(self: Pregel[Any, Any, Any, Any], *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("durability"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pregel, "astream", recording_astream)  # ainvoke runs through astream
    # A timeout of its own: langchain-openai caches HTTP clients per (base URL, timeout), bound to
    # the event loop of the test that made them.
    timeout = {"sync": "58", "exit": "57"}[mode]
    env = service_env(tmp_path / "data", stub_llm) | {
        "CHECKPOINT_DURABILITY": mode,
        "LLM_TIMEOUT_SECONDS": timeout,
    }
    runtime = await AgentRuntime.start(Settings.from_env(env))
    try:
        run = await runtime.prepare_run("assistant", None, principal=OPERATOR)
        assert (await run.invoke("hello")).output == "Echo: hello"
        stateless = await runtime.prepare_stateless_run("assistant")
        assert (await stateless.invoke("hello")).output == "Echo: hello"
    finally:
        await runtime.close()
    assert seen == [mode, None]
