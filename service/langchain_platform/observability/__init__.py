"""Logs, metrics and request tracking shared by every part of the service."""
