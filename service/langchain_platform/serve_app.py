"""The app factory ``serve`` gives uvicorn: ``app.create_app``, imported with the collector paused.

Importing the agent stack (LangChain, LangGraph, the OpenAI client's pydantic models) allocates
about a million objects, and each automatic collection on the way re-scans what is already there:
about a tenth of a cold start's CPU. Every worker imports this module by path, so the pause covers
their imports too; the app's lifespan freezes what start-up built and turns the collector back on.
Only ``serve`` imports this module: tests and tools importing ``app`` keep the collector on.
"""

import gc

gc.disable()

from langchain_platform.app import create_app  # noqa: E402  # imported with the collector paused

__all__ = ["create_app"]
