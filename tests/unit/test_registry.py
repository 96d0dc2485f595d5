"""The agents file: the bundled one loads, and every kind of mistake is reported with where and how to fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from langchain_platform.agents.registry import RegistryError, load_registry
from langchain_platform.settings import DEFAULT_AGENTS_CONFIG

CHAIN_C = "chains:\n  - name: c\n    description: d\n    messages:\n"
VALID_AGENT = """
  - name: helper
    description: Helps.
    system_prompt: You help.
    tools: [calculator]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    return caught.value.messages


def test_bundled_file_defines_the_documented_agents_and_chain() -> None:
    registry = load_registry(DEFAULT_AGENTS_CONFIG)

    assert registry.agents["assistant"].tools == ("calculator", "current_time")
    assert registry.agents["researcher"].tools == ("http_get",)
    assert registry.agents["researcher"].overrides.temperature == 0.2
    summarize = registry.chains["summarize"]
    assert summarize.input_variables == ("text",)
    rendered = summarize.prompt().format_messages(text="The quick brown fox.")
    assert [m.type for m in rendered] == ["system", "human"]
    assert "The quick brown fox." in rendered[1].content


def test_overrides_and_chain_variables_are_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents:
          - name: tuned
            description: Tuned agent.
            system_prompt: Be brief.
            model: gpt-4.1-mini
            temperature: 0
            max_tokens: 256
        chains:
          - name: translate
            description: Translate.
            messages:
              - {role: system, content: "Translate to {language}. Keep {{braces}} as they are."}
              - {role: human, content: "{text}"}
        """,
    )
    registry = load_registry(path)

    overrides = registry.agents["tuned"].overrides
    assert (overrides.model, overrides.temperature, overrides.max_tokens) == ("gpt-4.1-mini", 0.0, 256)
    assert registry.agents["tuned"].tools == ()
    assert registry.chains["translate"].input_variables == ("language", "text")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "agents:\n" + VALID_AGENT + "    tool: [calculator]\n",
            ["agent 'helper'", "unknown key(s) tool", "allowed keys are"],
        ),
        (
            "agents:\n  - name: helper\n    description: d\n    system_prompt: s\n    tools: [shell]\n",
            ["agent 'helper'", "unknown tool 'shell'", "calculator, current_time, http_get"],
        ),
        ("agents:\n" + VALID_AGENT + VALID_AGENT, ["agent 'helper'", "duplicate agent name 'helper'"]),
        (
            "agents:\n  - name: Bad Name\n    description: d\n    system_prompt: s\n",
            ["agent 'Bad Name'", "'name' must be lowercase"],
        ),
        (
            "agents:\n  - name: helper\n    description: d\n",
            ["agent 'helper'", "missing required key 'system_prompt'"],
        ),
        (
            "agents:\n  - name: helper\n    description: d\n    system_prompt: s\n    temperature: hot\n",
            ["agent 'helper'", "'temperature' must be a number between 0 and 2"],
        ),
        (
            "agents:\n  - name: helper\n    description: d\n    system_prompt: s\n    max_tokens: -5\n",
            ["'max_tokens' must be a positive integer"],
        ),
        (
            CHAIN_C + "      - {role: human, content: no vars}\n",
            ["chain 'c'", "the prompt has no {variable}"],
        ),
        (
            CHAIN_C + "      - {role: robot, content: '{x}'}\n",
            ["chain 'c' messages[0]", "role 'robot' is not one of system, human, ai"],
        ),
        (
            CHAIN_C + "      - {role: human, content: 'open {brace'}\n",
            ["chain 'c'", "does not parse", "escape literal braces"],
        ),
        ("agents:\n" + VALID_AGENT + "extras: 1\n", ["top level", "unknown key(s) extras"]),
        ("agents: []\nchains: []\n", ["no agents and no chains are defined"]),
    ],
)
def test_each_mistake_names_file_entry_and_fix(tmp_path: Path, body: str, expected: list[str]) -> None:
    path = write(tmp_path, body)

    problems = problems_of(path)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: ")
    for fragment in expected:
        assert fragment in problems[0]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents:
          - name: a
            description: d
            system_prompt: s
            tools: [nope]
          - name: b
            description: d
            colour: red
        """,
    )

    problems = problems_of(path)

    assert any("agent 'a'" in p and "unknown tool 'nope'" in p for p in problems)
    assert any("agent 'b'" in p and "unknown key(s) colour" in p for p in problems)
    assert any("agent 'b'" in p and "missing required key 'system_prompt'" in p for p in problems)


def test_unreadable_and_malformed_files_are_reported(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    assert "cannot read the agents file" in problems_of(missing)[0]

    broken = write(tmp_path, "agents: [\n")
    assert "not valid YAML" in problems_of(broken)[0]

    scalar = write(tmp_path, "just text\n")
    assert "the top level must be a mapping" in problems_of(scalar)[0]
