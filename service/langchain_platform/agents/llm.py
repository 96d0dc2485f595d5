"""Chat models from the settings: OpenAI (or any OpenAI-compatible server) first, Anthropic if asked.

Without a usable provider the factory reports a reason instead of failing, so the service still
starts and tells the operator which variable to set.
"""

from __future__ import annotations

import importlib
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from langchain_platform.agents.registry import ModelOverrides
from langchain_platform.settings import Settings

NO_KEY_REASON = "no LLM key is configured: set OPENAI_API_KEY (or ANTHROPIC_API_KEY)"


class LLMFactory:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._anthropic: Any = None
        self.unavailable_reason: str | None = None
        if settings.llm_provider is None:
            self.unavailable_reason = NO_KEY_REASON
        elif settings.llm_provider == "anthropic":
            try:
                self._anthropic = importlib.import_module("langchain_anthropic")
            except ImportError:
                self.unavailable_reason = (
                    "ANTHROPIC_API_KEY is set but the langchain-anthropic package is not installed: "
                    "install it in the image, or set OPENAI_API_KEY instead"
                )

    def model_name(self, overrides: ModelOverrides) -> str:
        return overrides.model or self._settings.llm_model

    def chat_model(self, overrides: ModelOverrides) -> BaseChatModel:
        """A chat model with the agent's overrides over the LLM_* defaults."""
        if self.unavailable_reason is not None:
            raise RuntimeError(self.unavailable_reason)
        s = self._settings
        temperature = s.llm_temperature if overrides.temperature is None else overrides.temperature
        max_tokens = overrides.max_tokens or s.llm_max_tokens
        if self._anthropic is not None:
            model: BaseChatModel = self._anthropic.ChatAnthropic(
                model=self.model_name(overrides),
                api_key=s.anthropic_api_key,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout=s.llm_timeout_seconds,
                max_retries=s.llm_max_retries,
            )
            return model
        return ChatOpenAI(
            model=self.model_name(overrides),
            api_key=s.openai_api_key,  # type: ignore[arg-type]  # str is accepted and wrapped in SecretStr
            base_url=s.openai_base_url,
            temperature=temperature,
            max_tokens=max_tokens,  # type: ignore[call-arg]  # alias of max_completion_tokens
            timeout=s.llm_timeout_seconds,
            max_retries=s.llm_max_retries,
            stream_usage=True,
        )
