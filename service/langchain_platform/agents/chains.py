"""Chains: a prompt template, a chat model and a string parser, run once per request (no thread)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig

from langchain_platform.agents.errors import InvalidChainInput
from langchain_platform.agents.failures import classify_llm_error, run_failure
from langchain_platform.agents.registry import ChainSpec
from langchain_platform.agents.run_deadlines import RunDeadlines
from langchain_platform.agents.schemas import ChainResponse
from langchain_platform.agents.usage import UsageCallback

_log = structlog.get_logger("langchain_platform.chains")


def chain_variables(spec: ChainSpec, value: str | dict[str, Any]) -> dict[str, Any]:
    """Map the request ``input`` onto the template variables; refuse it naming what is missing or extra."""
    expected = set(spec.input_variables)
    if isinstance(value, str):
        if len(expected) != 1:
            raise InvalidChainInput(
                f"chain {spec.name} takes the variables {', '.join(spec.input_variables)}: "
                "send input as an object with those keys"
            )
        return {spec.input_variables[0]: value}
    missing, extra = sorted(expected - set(value)), sorted(set(value) - expected)
    if missing or extra:
        parts = [
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown {', '.join(extra)}" if extra else "",
        ]
        raise InvalidChainInput(
            f"chain {spec.name} input: {'; '.join(p for p in parts if p)} "
            f"(expected keys: {', '.join(spec.input_variables)})"
        )
    return value


def build_chain(spec: ChainSpec, model: BaseChatModel) -> Runnable[dict[str, Any], str]:
    return spec.prompt() | model | StrOutputParser()


async def invoke_chain(
    spec: ChainSpec,
    chain: Runnable[dict[str, Any], str],
    variables: dict[str, Any],
    *,
    model: str,
    run_timeout_seconds: float,
    deadlines: RunDeadlines,
    llm_timeout_seconds: float,
    llm_max_retries: int,
) -> ChainResponse:
    run_id = uuid4()
    usage = UsageCallback(model, llm_timeout_seconds)
    config: RunnableConfig = {
        "run_id": run_id,
        "run_name": f"chain:{spec.name}",
        "tags": ["langchain-platform", f"chain:{spec.name}"],
        "metadata": {"chain": spec.name, "model": model},
        "callbacks": [usage],
    }
    deadline = deadlines.start(run_timeout_seconds)
    try:
        async with deadline:
            output = await chain.ainvoke(variables, config)
    except Exception as exc:
        failure = deadline.failure() or classify_llm_error(exc, llm_timeout_seconds, llm_max_retries)
        error = run_failure(failure)
        _log.warning("chain run failed", chain=spec.name, run_id=str(run_id), detail=str(failure))
        if error is None:
            raise
        raise error from exc
    return ChainResponse(output=output, run_id=str(run_id), usage=usage.usage)
