"""Webhooks: signed inbound events that run an agent in the background, their results at
``/api/runs/{id}``, and signed callbacks to the caller's ``callback_url``."""
