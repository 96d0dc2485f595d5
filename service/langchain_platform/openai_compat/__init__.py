"""The OpenAI-compatible front (``/v1/models``, ``/v1/chat/completions``): every agent as a model."""
