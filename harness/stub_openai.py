#!/usr/bin/env python3
"""A loopback OpenAI-compatible chat server for tests and benchmarks.

Standard library only: it also runs as a script inside test containers and benchmark hosts
(`python3 stub_openai.py --host 0.0.0.0 --port 8080 --latency-ms 50`), where nothing else is installed.

Behaviour of each POST /v1/chat/completions:
- default ("echo"): answers `Echo: <last user message>`;
- when tools are offered and the last message is a user message containing
  `use tool NAME: ARGS`, it calls tool NAME (ARGS is a JSON object, or a plain value that fills the
  tool's first required parameter); once the tool result comes back it answers
  `The NAME tool returned: RESULT`;
- faults, chosen by a marker in the last user message (`[stub:429]`, `[stub:500]`, `[stub:garbage]`,
  `[stub:badschema]`, `[stub:slow=MS]`, `[stub:drip=MS]`: a streamed answer pauses MS between its
  chunks) or for every request by POST /_control
  `{"mode", "delay_ms", "fail_next_n", "status", "latency_ms"}`.

Token usage is deterministic (words in, words out) so tests can compare the service's usage figures
with what the stub reported. Every /v1 request is recorded (headers, body, what was answered):
GET /_requests lists them, DELETE /_requests forgets them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("echo", "429", "500", "slow", "garbage", "badschema")
_MARKER = re.compile(r"\[stub:(429|500|garbage|badschema|slow|drip)(?:=(\d+))?\]")
_TOOL_REQUEST = re.compile(r"use tool (\w+)\s*:\s*(.+)")
_SLOW_DEFAULT_MS = 2000


def _text_of(content: Any) -> str:
    """Flatten OpenAI message content (a string or a list of parts) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _words(text: str) -> int:
    return len(text.split())


def _tool_arguments(tool: dict[str, Any], raw: str) -> dict[str, Any]:
    """Arguments for `tool` from the text after `use tool NAME:`."""
    raw = raw.strip()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    schema = tool.get("function", {}).get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    if not properties:
        return {}
    required = schema.get("required") or list(properties)
    name = required[0]
    kind = (properties.get(name) or {}).get("type")
    value: Any = raw
    if kind in ("integer", "number"):
        try:
            value = int(raw) if kind == "integer" else float(raw)
        except ValueError:
            value = raw
    return {name: value}


class StubState:
    """Control settings and the request log, shared by the handler threads."""

    def __init__(self, latency_ms: int = 0) -> None:
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.mode = "echo"
        self.delay_ms = 0
        self.fail_next_n = 0
        self.fail_status = 500
        self._requests: list[dict[str, Any]] = []

    def control(self, settings: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if settings.get("reset"):
                self.mode, self.delay_ms, self.fail_next_n, self.fail_status = "echo", 0, 0, 500
            if "mode" in settings:
                mode = str(settings["mode"])
                if mode not in MODES:
                    raise ValueError(f"mode must be one of {', '.join(MODES)}")
                self.mode = mode
            if "delay_ms" in settings:
                self.delay_ms = int(settings["delay_ms"])
            if "latency_ms" in settings:
                self.latency_ms = int(settings["latency_ms"])
            if "fail_next_n" in settings:
                self.fail_next_n = int(settings["fail_next_n"])
            if "status" in settings:
                self.fail_status = int(settings["status"])
            return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "delay_ms": self.delay_ms,
            "latency_ms": self.latency_ms,
            "fail_next_n": self.fail_next_n,
            "status": self.fail_status,
        }

    def take_forced_failure(self) -> int | None:
        """The status to fail this request with, if /_control asked for failures."""
        with self._lock:
            if self.fail_next_n > 0:
                self.fail_next_n -= 1
                return self.fail_status
            return None

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


class _Reply:
    """What the stub decided to answer to one chat request."""

    def __init__(self) -> None:
        self.fault: str | None = None
        self.delay_ms = 0
        self.drip_ms = 0
        self.text: str | None = None
        self.tool_call: dict[str, Any] | None = None
        self.usage: dict[str, int] = {}


def _plan(state: StubState, body: dict[str, Any]) -> _Reply:
    reply = _Reply()
    messages: list[dict[str, Any]] = body.get("messages") or []
    last = messages[-1] if messages else {}
    last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    user_text = _text_of(last_user.get("content"))

    reply.delay_ms = state.latency_ms + state.delay_ms
    marker = _MARKER.search(user_text)
    if marker:
        kind = marker.group(1)
        if kind == "slow":
            reply.delay_ms += int(marker.group(2) or _SLOW_DEFAULT_MS)
        elif kind == "drip":
            reply.drip_ms = int(marker.group(2) or _SLOW_DEFAULT_MS)
        else:
            reply.fault = kind
    elif state.mode == "slow" and not state.delay_ms:
        reply.delay_ms += _SLOW_DEFAULT_MS  # slow mode without its own delay_ms
    elif state.mode not in ("echo", "slow"):
        reply.fault = state.mode
    forced = state.take_forced_failure()
    if forced is not None:
        reply.fault = str(forced)
    if reply.fault:
        return reply

    tools = {t.get("function", {}).get("name"): t for t in body.get("tools") or []}
    wanted = _TOOL_REQUEST.search(_text_of(last.get("content"))) if last.get("role") == "user" else None
    if wanted and wanted.group(1) in tools:
        name = wanted.group(1)
        reply.tool_call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": json.dumps(_tool_arguments(tools[name], wanted.group(2))),
            },
        }
        out_words = 1 + _words(reply.tool_call["function"]["arguments"])
    elif last.get("role") == "tool":
        reply.text = f"The {_tool_name(messages, last)} tool returned: {_text_of(last.get('content'))}"
        out_words = _words(reply.text)
    else:
        reply.text = f"Echo: {user_text}"
        out_words = _words(reply.text)
    in_words = max(1, sum(_words(_text_of(m.get("content"))) for m in messages))
    reply.usage = {
        "prompt_tokens": in_words,
        "completion_tokens": max(1, out_words),
        "total_tokens": in_words + max(1, out_words),
    }
    return reply


def _tool_name(messages: list[dict[str, Any]], tool_message: dict[str, Any]) -> str:
    call_id = tool_message.get("tool_call_id")
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if call.get("id") == call_id:
                return str(call.get("function", {}).get("name", "unknown"))
    return "unknown"


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is GET /_requests."""

    # -- plumbing -----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, payload: Any, content_type: str = "application/json", **headers: str
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": kind}})

    # -- routes -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_requests":
            self._send(200, state.requests())
        elif self.path == "/_control":
            self._send(200, state.snapshot())
        elif self.path.rstrip("/") == "/v1/models":
            state.record(
                {
                    "method": "GET",
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": None,
                    "received_at": time.time(),
                    "response": {"status": 200},
                }
            )
            models = [
                {"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in ("gpt-4o-mini",)
            ]
            self._send(200, {"object": "list", "data": models})
        elif self.path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_DELETE(self) -> None:
        if self.path == "/_requests":
            self.server.state.clear()
            self._send(200, {"cleared": True})
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:
        raw = self._read_body()
        if self.path == "/_control":
            try:
                self._send(200, self.server.state.control(json.loads(raw or b"{}")))
            except (ValueError, TypeError) as exc:
                self._error(400, str(exc), "invalid_request_error")
        elif self.path.rstrip("/") == "/v1/chat/completions":
            self._chat(raw)
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def _chat(self, raw: bytes) -> None:
        entry: dict[str, Any] = {
            "method": "POST",
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "received_at": time.time(),
        }
        try:
            body = json.loads(raw)
        except ValueError:
            entry["body"] = raw.decode(errors="replace")
            entry["response"] = {"status": 400}
            self.server.state.record(entry)
            self._error(400, "request body is not JSON", "invalid_request_error")
            return
        entry["body"] = body
        reply = _plan(self.server.state, body)
        entry["response"] = {"status": 200, "fault": reply.fault, "delay_ms": reply.delay_ms}
        if reply.tool_call:
            entry["response"]["tool_call"] = reply.tool_call["function"]
        if reply.text is not None:
            entry["response"]["text"] = reply.text
        entry["response"]["usage"] = reply.usage
        # Recorded before answering so a test that races the answer still sees the attempt.
        self.server.state.record(entry)
        if reply.delay_ms:
            time.sleep(reply.delay_ms / 1000)
        self._answer(body, reply, entry)

    def _answer(self, body: dict[str, Any], reply: _Reply, entry: dict[str, Any]) -> None:
        if (reply.fault or "").isdigit():
            status = int(reply.fault or 500)
            entry["response"]["status"] = status
            if status == 429:
                # retry-after-ms keeps the client's retries quick in tests.
                self._send(
                    429,
                    {
                        "error": {
                            "message": "Rate limit reached (stub)",
                            "type": "requests",
                            "code": "rate_limit",
                        }
                    },
                    retry_after_ms="50",
                )
            else:
                self._error(status, f"stub failure {status}", "server_error")
            return
        if reply.fault == "garbage":
            self._send(200, b"<html>this is not the JSON you are looking for", "application/json")
            return
        if reply.fault == "badschema":
            self._send(200, {"unexpected": "schema", "choices": "not-a-list"})
            return
        model = str(body.get("model") or "gpt-4o-mini")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(model, reply, include_usage)
        else:
            self._send(200, _completion(model, reply))

    def _stream(self, model: str, reply: _Reply, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for index, chunk in enumerate(_chunks(model, reply, include_usage)):
            if index and reply.drip_ms:
                time.sleep(reply.drip_ms / 1000)
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _completion(model: str, reply: _Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_call:
        message["tool_calls"] = [reply.tool_call]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_call else "stop",
            }
        ],
        "usage": reply.usage,
        "system_fingerprint": "stub",
    }


def _chunks(model: str, reply: _Reply, include_usage: bool) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "stub",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    if reply.tool_call:
        function = reply.tool_call["function"]
        head = {"index": 0, "id": reply.tool_call["id"], "type": "function"}
        yield chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}],
            }
        )
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": function["arguments"]}}]})
        yield chunk({}, "tool_calls")
    else:
        yield chunk({"role": "assistant", "content": ""})
        words = (reply.text or "").split(" ")
        for i, word in enumerate(words):
            yield chunk({"content": word if i == len(words) - 1 else word + " "})
        yield chunk({}, "stop")
    if include_usage:
        yield {**base, "choices": [], "usage": reply.usage}


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], latency_ms: int = 0) -> None:
        super().__init__(address, StubHandler)
        self.state = StubState(latency_ms)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow answer (a timeout test) closes the socket mid-write;
        # that is expected here, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class StubOpenAI:
    """The stub in a thread of this process, on a free loopback port.

    `with StubOpenAI() as llm:` gives `llm.base_url` (ending in /v1, the value for OPENAI_BASE_URL),
    `llm.requests` (recorded chat requests) and `llm.set_mode(...)`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0) -> None:
        self._server = StubServer((host, port), latency_ms)
        self._thread = threading.Thread(target=self._server.serve_forever, name="stub-openai", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.state.requests()

    def requests_mentioning(self, text: str) -> list[dict[str, Any]]:
        """Chat requests whose messages contain `text` (tests tag their inputs with a unique token)."""
        return [r for r in self.requests if text in json.dumps(r.get("body"))]

    def set_mode(
        self,
        mode: str | None = None,
        *,
        delay_ms: int | None = None,
        fail_next_n: int | None = None,
        status: int | None = None,
        latency_ms: int | None = None,
    ) -> dict[str, Any]:
        settings = {
            k: v
            for k, v in {
                "mode": mode,
                "delay_ms": delay_ms,
                "fail_next_n": fail_next_n,
                "status": status,
                "latency_ms": latency_ms,
            }.items()
            if v is not None
        }
        return self._server.state.control(settings)

    def reset(self) -> None:
        """Back to echo mode with no delay or pending failures; the request log is kept."""
        self._server.state.control({"reset": True})

    def clear(self) -> None:
        self._server.state.clear()

    def __enter__(self) -> StubOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback OpenAI-compatible chat server (test stub).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every chat answer")
    args = parser.parse_args(argv)
    server = StubServer((args.host, args.port), args.latency_ms)
    print(f"stub_openai listening on http://{args.host}:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
