#!/usr/bin/env python3
"""A loopback LangSmith ingestion endpoint for tests (standard library only, runnable as a script).

It answers what the `langsmith` client calls while tracing: GET /info (the ingest settings; no
`zstd_compression_enabled` flag, so the client sends plain multipart), POST /runs/multipart,
POST /runs/batch, POST /runs and PATCH /runs/{id}. Runs are merged by id and kept with their name,
type, project (`session_name`), trace id, inputs and outputs; every request is recorded with its
headers. GET /_runs and GET /_requests show them, DELETE /_requests forgets everything.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INFO = {
    "version": "0.10.0",
    "batch_ingest_config": {
        "use_multipart_endpoint": True,
        "scale_up_qsize_trigger": 1000,
        "scale_up_nthreads_limit": 16,
        "scale_down_nempty_trigger": 4,
        "size_limit": 100,
        "size_limit_bytes": 20 * 1024 * 1024,
    },
    "instance_flags": {},
}


class TraceStore:
    """Runs and raw requests, shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, Any]] = {}
        self._requests: list[dict[str, Any]] = []

    def record_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def merge_run(self, run_id: str, fields: dict[str, Any]) -> None:
        with self._lock:
            run = self._runs.setdefault(run_id, {"id": run_id})
            run.update({k: v for k, v in fields.items() if v is not None or k not in run})

    def runs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(run) for run in self._runs.values()]

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._requests.clear()


def _multipart_parts(content_type: str, body: bytes) -> list[tuple[str, Any]]:
    """(name, decoded JSON or text) of each part of a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts: list[tuple[str, Any]] = []
    for part in message.iter_parts():  # type: ignore[attr-defined,unused-ignore]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        try:
            value: Any = json.loads(payload)
        except ValueError:
            value = payload.decode(errors="replace")
        parts.append((str(name), value))
    return parts


class LangSmithHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LangSmithServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is GET /_requests."""

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: bytes) -> None:
        self.server.store.record_request(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "size": len(body),
                "received_at": time.time(),
            }
        )

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/info":
            # Recorded too: a service with tracing off must not contact LangSmith at all.
            self._record(b"")
            self._send(200, INFO)
        elif path == "/_runs":
            self._send(200, self.server.store.runs())
        elif path == "/_requests":
            self._send(200, self.server.store.requests())
        else:
            self._send(404, {"detail": f"no route {self.path}"})

    def do_DELETE(self) -> None:
        if self.path == "/_requests":
            self.server.store.clear()
            self._send(200, {"cleared": True})
        else:
            self._send(404, {"detail": f"no route {self.path}"})

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        path = self.path.split("?", 1)[0].rstrip("/")
        store = self.server.store
        if self.headers.get("Content-Encoding"):
            # Compressed ingestion is not offered by /info; refuse rather than record nonsense.
            self._send(415, {"detail": "compressed bodies are not supported by this stub"})
            return
        if path == "/runs/multipart":
            for name, value in _multipart_parts(self.headers.get("Content-Type", ""), body):
                pieces = name.split(".")
                if len(pieces) == 2 and pieces[0] in ("post", "patch") and isinstance(value, dict):
                    store.merge_run(pieces[1], value)
                elif len(pieces) == 3 and pieces[0] in ("post", "patch"):
                    store.merge_run(pieces[1], {pieces[2]: value})
            self._send(202, {})
        elif path == "/runs/batch":
            batch = json.loads(body or b"{}")
            for run in (batch.get("post") or []) + (batch.get("patch") or []):
                store.merge_run(str(run.get("id")), run)
            self._send(202, {})
        elif path == "/runs":
            run = json.loads(body or b"{}")
            store.merge_run(str(run.get("id")), run)
            self._send(202, {})
        else:
            self._send(200, {})

    def do_PATCH(self) -> None:
        body = self._body()
        self._record(body)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/runs/"):
            self.server.store.merge_run(path.rsplit("/", 1)[1], json.loads(body or b"{}"))
            self._send(200, {})
        else:
            self._send(404, {"detail": f"no route {self.path}"})


class LangSmithServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, LangSmithHandler)
        self.store = TraceStore()


class StubLangSmith:
    """The stub in a thread of this process: `.url` is the value for LANGSMITH_ENDPOINT."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = LangSmithServer((host, port))
        self._thread = threading.Thread(target=self._server.serve_forever, name="stub-langsmith", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self._server.store.runs()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.store.requests()

    def clear(self) -> None:
        self._server.store.clear()

    def __enter__(self) -> StubLangSmith:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback LangSmith ingestion endpoint (test stub).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1984)
    args = parser.parse_args(argv)
    server = LangSmithServer((args.host, args.port))
    print(f"stub_langsmith listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
