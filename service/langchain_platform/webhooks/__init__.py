"""Webhooks: signed inbound events, each run as an Agent Server background run, their results at
``/api/runs/{id}``, and signed callbacks to the caller's ``callback_url``."""
