"""langchain-platform: LangGraph agents and LangChain chains behind an operable HTTP service."""

import os
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    # An image may be released under another version than the wheel it carries (the lab's test
    # releases are); the image then sets LANGCHAIN_PLATFORM_VERSION so /health reports what was deployed.
    override = os.environ.get("LANGCHAIN_PLATFORM_VERSION", "").strip()
    if override:
        return override
    try:
        return version("langchain-platform")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0+unknown"


__version__ = _version()
