"""``/v1/models``: each agent as a model whose id is the agent's name.

Chains are not listed: they take named template variables, not a conversation. ``created`` is the
agents file's modification time, the same on every worker and replica that share the file.
"""

from __future__ import annotations

from langchain_platform.agents.errors import UnknownAgent
from langchain_platform.agents.runtime import AgentRuntime
from langchain_platform.openai_compat.errors import ModelNotFound
from langchain_platform.openai_compat.schemas import Model, ModelList


def _created(runtime: AgentRuntime) -> int:
    try:
        return int(runtime.settings.agents_config.stat().st_mtime)
    except OSError:
        return 0


def model_list(runtime: AgentRuntime) -> ModelList:
    created = _created(runtime)
    return ModelList(data=[Model(id=agent.name, created=created) for agent in runtime.list_agents().agents])


def model(runtime: AgentRuntime, model_id: str) -> Model:
    try:
        runtime.agent(model_id)
    except UnknownAgent as exc:
        raise ModelNotFound(model_id) from exc
    return Model(id=model_id, created=_created(runtime))
