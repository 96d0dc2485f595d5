"""A loopback receiver of the service's signed callbacks, and the settings tests give the service for it.

Receivers listen on 127.0.0.2, the one loopback address tests allow-list (WEBHOOK_CALLBACK_ALLOWLIST), so
127.0.0.1, the service's own host, stays forbidden by the callback policy.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "webhook-secret-for-tests-8c2d"
ALLOWED_HOST = "127.0.0.2"


class Receiver:
    """A loopback HTTP server that records callbacks; the first `fail_first` answers are 500."""

    def __init__(self, host: str = ALLOWED_HOST, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[int, dict[str, str], bytes]] = []  # (status answered, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 500 if len(receiver.received) < receiver.fail_first else 200
                receiver.received.append((status, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
