"""Operator endpoints under ``/api/admin``: log level, maintenance mode, clearing sessions."""

from langchain_platform.admin.controller import AdminController
from langchain_platform.admin.sessions_controller import SessionsController

__all__ = ["AdminController", "SessionsController"]
