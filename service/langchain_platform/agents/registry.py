"""The agents and chains file (``AGENTS_CONFIG``): parsing and strict validation.

Every problem is collected and reported at once, each naming the file, the entry and the field, so
``langchain-platform check-config`` tells an operator everything to fix in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from langchain_core.prompts import ChatPromptTemplate

from langchain_platform.agents.tools import TOOL_NAMES

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # whole names: fullmatch
_TOP_KEYS = frozenset({"agents", "chains"})
_MODEL_KEYS = ("model", "temperature", "max_tokens")
_AGENT_KEYS = frozenset({"name", "description", "system_prompt", "tools", *_MODEL_KEYS})
_CHAIN_KEYS = frozenset({"name", "description", "messages", *_MODEL_KEYS})
_MESSAGE_KEYS = frozenset({"role", "content"})
_ROLES = ("system", "human", "ai")


class RegistryError(Exception):
    """Invalid agents file; ``messages`` holds one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class ModelOverrides:
    """Per-agent or per-chain LLM settings; ``None`` falls back to LLM_MODEL / LLM_TEMPERATURE / ..."""

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    system_prompt: str
    tools: tuple[str, ...]
    overrides: ModelOverrides


@dataclass(frozen=True)
class ChainSpec:
    name: str
    description: str
    messages: tuple[tuple[str, str], ...]
    input_variables: tuple[str, ...]
    overrides: ModelOverrides

    def prompt(self) -> ChatPromptTemplate:
        return ChatPromptTemplate.from_messages(list(self.messages))


@dataclass(frozen=True)
class Registry:
    source: Path
    agents: dict[str, AgentSpec]
    chains: dict[str, ChainSpec]


class _Checker:
    """Walks the parsed YAML, recording problems instead of stopping at the first."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def text(self, where: str, entry: dict[str, Any], key: str, *, required: bool) -> str:
        value = entry.get(key)
        if value is None:
            if required:
                self.fail(where, f"missing required key '{key}': add {key}: <text>")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(where, f"'{key}' must be a non-empty string, got {value!r}")
            return ""
        return value

    def overrides(self, where: str, entry: dict[str, Any]) -> ModelOverrides:
        model = entry.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            self.fail(where, f"'model' must be a model name such as gpt-4o-mini, got {model!r}")
            model = None
        temperature = entry.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 2
        ):
            self.fail(where, f"'temperature' must be a number between 0 and 2, got {temperature!r}")
            temperature = None
        max_tokens = entry.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            self.fail(where, f"'max_tokens' must be a positive integer, got {max_tokens!r}")
            max_tokens = None
        return ModelOverrides(
            model=model,
            temperature=float(temperature) if temperature is not None else None,
            max_tokens=max_tokens,
        )

    def entries(
        self, data: dict[str, Any], section: str, allowed: frozenset[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """The well-formed entries of a section, as (label, mapping); unknown keys and bad names reported."""
        raw = data.get(section) or []
        if not isinstance(raw, list):
            self.fail(section, f"'{section}' must be a list of mappings (- name: ...)")
            return []
        seen: set[str] = set()
        result: list[tuple[str, dict[str, Any]]] = []
        kind = section[:-1]
        for index, entry in enumerate(raw):
            if not isinstance(entry, dict):
                self.fail(f"{section}[{index}]", f"each {kind} must be a mapping with name, description, ...")
                continue
            name = entry.get("name")
            label = f"{kind} '{name}'" if isinstance(name, str) else f"{section}[{index}]"
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                self.fail(
                    label,
                    f"'name' must be lowercase letters, digits, '-' or '_' (used in URLs), got {name!r}",
                )
            elif name in seen:
                self.fail(label, f"duplicate {kind} name '{name}': rename one of them")
            else:
                seen.add(name)
            unknown = sorted(set(entry) - allowed)
            if unknown:
                self.fail(
                    label,
                    f"unknown key(s) {', '.join(unknown)}: allowed keys are {', '.join(sorted(allowed))}",
                )
            result.append((label, entry))
        return result

    def agent(self, label: str, entry: dict[str, Any]) -> AgentSpec:
        tools = entry.get("tools") or []
        names: list[str] = []
        if not isinstance(tools, list):
            self.fail(label, "'tools' must be a list of tool names")
            tools = []
        for tool in tools:
            if tool not in TOOL_NAMES:
                self.fail(label, f"unknown tool {tool!r}: use one of {', '.join(TOOL_NAMES)}")
            elif tool in names:
                self.fail(label, f"tool {tool!r} is listed twice: list it once")
            else:
                names.append(tool)
        return AgentSpec(
            name=str(entry.get("name")),
            description=self.text(label, entry, "description", required=True),
            system_prompt=self.text(label, entry, "system_prompt", required=True),
            tools=tuple(names),
            overrides=self.overrides(label, entry),
        )

    def chain(self, label: str, entry: dict[str, Any]) -> ChainSpec:
        raw = entry.get("messages")
        messages: list[tuple[str, str]] = []
        if not isinstance(raw, list) or not raw:
            self.fail(label, "'messages' must be a non-empty list of {role, content} (role: system|human|ai)")
            raw = []
        for index, message in enumerate(raw):
            where = f"{label} messages[{index}]"
            if not isinstance(message, dict) or set(message) != _MESSAGE_KEYS:
                self.fail(where, "each message must have exactly the keys role and content")
                continue
            role, content = message["role"], message["content"]
            if role not in _ROLES:
                self.fail(where, f"role {role!r} is not one of {', '.join(_ROLES)}")
            elif not isinstance(content, str) or not content.strip():
                self.fail(where, "content must be a non-empty template string")
            else:
                messages.append((role, content))
        variables: tuple[str, ...] = ()
        if messages:
            try:
                variables = tuple(sorted(ChatPromptTemplate.from_messages(messages).input_variables))
            except (ValueError, KeyError) as exc:
                self.fail(
                    label, f"the prompt template does not parse ({exc}): escape literal braces as {{{{ }}}}"
                )
            else:
                if not variables:
                    self.fail(
                        label, "the prompt has no {variable}: add one, e.g. {text}, for the chain input"
                    )
        return ChainSpec(
            name=str(entry.get("name")),
            description=self.text(label, entry, "description", required=True),
            messages=tuple(messages),
            input_variables=variables,
            overrides=self.overrides(label, entry),
        )


def load_registry(path: Path) -> Registry:
    """Parse and validate the agents file; raise ``RegistryError`` listing every problem."""
    checker = _Checker(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(
            [f"{path}: cannot read the agents file ({exc.strerror}): check AGENTS_CONFIG"]
        ) from exc
    except yaml.YAMLError as exc:
        raise RegistryError([f"{path}: not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise RegistryError([f"{path}: the top level must be a mapping with 'agents' and 'chains' lists"])
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        checker.fail("top level", f"unknown key(s) {', '.join(map(str, unknown))}: only agents and chains")
    agents = [checker.agent(label, entry) for label, entry in checker.entries(data, "agents", _AGENT_KEYS)]
    chains = [checker.chain(label, entry) for label, entry in checker.entries(data, "chains", _CHAIN_KEYS)]
    if not agents and not chains:
        checker.fail("top level", "no agents and no chains are defined: define at least one")
    if checker.problems:
        raise RegistryError(checker.problems)
    return Registry(
        source=path,
        agents={agent.name: agent for agent in agents},
        chains={chain.name: chain for chain in chains},
    )
