"""Why a replica that must serve agents (``AGENTS_REQUIRED``) has none, decided once at startup.

A release or configuration that loses its agents still starts (runtime.py), and its probes used to
say ready: the deploy gate kept it and the balancer sent it agent calls it could only answer with
503. The loaded agents never change while the process runs, so the answer is computed once and the
probes only read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_platform.agents.runtime import AgentRuntime
    from langchain_platform.settings import Settings

NO_AGENTS_DEFINED = "the agents file defines no agents"


def missing_agents(settings: Settings, runtime: AgentRuntime) -> str | None:
    """None when agents are loaded or not required; else why not, without paths or file contents."""
    if not settings.requires_agents:
        return None
    listing = runtime.list_agents()  # its reasons are the short ones a caller without a key may read
    if listing.reasons:
        why = listing.reasons[0]
    elif not listing.agents:
        why = NO_AGENTS_DEFINED
    else:
        return None
    return f"agents are required (AGENTS_REQUIRED) but none are loaded: {why}"
