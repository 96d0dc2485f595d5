"""Health endpoints for operators, Docker and load balancers."""

from langchain_platform.health.controller import HealthController

__all__ = ["HealthController"]
