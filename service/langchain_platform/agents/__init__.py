"""Agents and chains from ``agents.yaml``: catalog, tools, LLMs, middleware, runtime and endpoints."""
