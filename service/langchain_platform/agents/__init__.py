"""The agent runtime: agents and chains from ``agents.yaml``, their state, and their HTTP endpoints."""
