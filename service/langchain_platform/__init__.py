"""langchain-platform: LangGraph agents and LangChain chains behind an operable HTTP service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langchain-platform")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
