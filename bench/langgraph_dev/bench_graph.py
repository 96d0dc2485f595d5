"""The benchmark agent of bench/agents.yaml built for `langgraph dev`: the same create_agent graph, model
client and calculator the service builds for it (without the service's middleware), against the
same stub LLM. The server keeps the state: no checkpointer here.

Loaded by file from .cache/langgraph-dev's interpreter, with the service's sources on PYTHONPATH for the
calculator (standard library only).
"""

from __future__ import annotations

import os
from typing import Any

from langchain.agents import create_agent
from langchain_core.tools import StructuredTool
from langchain_openai import ChatOpenAI
from langchain_platform.agents.calculator import calculate

SYSTEM_PROMPT = "You are the benchmark agent. Use the calculator for arithmetic."


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression, e.g. '(2 + 3) * 4 ** 2 / sqrt(16)'."""
    return str(calculate(expression))


def _graph() -> Any:
    model = ChatOpenAI(
        model="gpt-4o-mini",  # the service's LLM_MODEL and LLM_TEMPERATURE defaults
        base_url=os.environ["OPENAI_BASE_URL"],
        api_key=os.environ["OPENAI_API_KEY"],  # type: ignore[arg-type]
        temperature=0.7,
        max_retries=0,
        stream_usage=True,
    )
    tools = [StructuredTool.from_function(calculator, handle_tool_error=True)]
    return create_agent(model=model, tools=tools, system_prompt=SYSTEM_PROMPT, name="bench")


graph = _graph()
