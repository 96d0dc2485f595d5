"""The LangGraph Agent Server API (what ``langgraph_sdk``'s client calls) on the platform's runtime:
assistants (the agents file), threads (the state store), runs (the run guard and ``AgentRun``).

``AgentServerPlugin`` registers it on the app.
"""

from langchain_platform.agent_server.plugin import AgentServerPlugin

__all__ = ["AgentServerPlugin"]
