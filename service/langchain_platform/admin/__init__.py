"""Operator endpoints under ``/api/admin`` (sessions/clear lives with the agent routes)."""

from langchain_platform.admin.controller import AdminController

__all__ = ["AdminController"]
