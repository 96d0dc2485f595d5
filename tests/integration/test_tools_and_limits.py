"""The http_get tool against real loopback sites, and the tool and run time limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from harness.http_checks import assert_problem, token
from harness.platform_server import PlatformServer
from tests.conftest import API_KEY, Launcher

TOOL_TIMEOUT = 1
RUN_TIMEOUT = 3


class Site:
    """A loopback web site: /hello, /trickle (a body that takes 3 s), /redirect (to `redirect_to`)."""

    def __init__(self, host: str, redirect_to: str = "") -> None:
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(self.path)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/trickle":
                    # Headers at once, then a byte every 0.3 s: no single read waits long enough for
                    # the HTTP client's own timeout; only a limit on the whole tool call stops it.
                    self.send_response(200)
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    for _ in range(10):
                        self.wfile.write(b".")
                        self.wfile.flush()
                        time.sleep(0.3)
                else:
                    body = b"hello-from-site"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def private_site() -> Iterator[Site]:
    """On 127.0.0.2, which is NOT in HTTP_TOOL_ALLOWLIST."""
    site = Site("127.0.0.2")
    yield site
    site.close()


@pytest.fixture(scope="module")
def site(private_site: Site) -> Iterator[Site]:
    site = Site("127.0.0.1", redirect_to=private_site.url("/secret"))
    yield site
    site.close()


@pytest.fixture(scope="module")
def server(launch: Launcher) -> PlatformServer:
    return launch(
        HTTP_TOOL_ALLOWLIST="127.0.0.1",
        TOOL_TIMEOUT_SECONDS=str(TOOL_TIMEOUT),
        RUN_TIMEOUT_SECONDS=str(RUN_TIMEOUT),
        LLM_TIMEOUT_SECONDS="10",
    )


@pytest.fixture
def client(server: PlatformServer) -> Iterator[httpx.Client]:
    with server.client(api_key=API_KEY) as c:
        yield c


def fetch(client: httpx.Client, url: str, thread_id: str | None = None) -> httpx.Response:
    body = {"input": f"{token()} use tool http_get: {url}"}
    if thread_id:
        body["thread_id"] = thread_id
    return client.post("/api/enterprise/agents/fetcher/invoke", json=body)


def test_http_get_fetches_an_allow_listed_site(client: httpx.Client, site: Site) -> None:
    response = fetch(client, site.url("/hello"))
    assert response.status_code == 200, response.text
    output = response.json()["output"]
    assert output.startswith("The http_get tool returned: status: 200")
    assert "hello-from-site" in output
    assert "/hello" in site.hits


def test_http_get_refuses_a_host_outside_the_allowlist(client: httpx.Client, private_site: Site) -> None:
    response = fetch(client, private_site.url("/secret"))
    assert response.status_code == 200, response.text  # the refusal goes back to the model
    assert "HTTP_TOOL_ALLOWLIST" in response.json()["output"]
    assert private_site.hits == []


def test_http_get_does_not_follow_a_redirect_off_the_allowlist(
    client: httpx.Client, site: Site, private_site: Site
) -> None:
    response = fetch(client, site.url("/redirect"))
    assert response.status_code == 200, response.text
    assert "status: 302" in response.json()["output"]
    assert private_site.hits == [], "the redirect to a non-allow-listed host was followed"


def test_a_tool_call_over_its_time_limit_is_504(client: httpx.Client, site: Site) -> None:
    thread_id = f"tool-timeout-{token()}"
    started = time.monotonic()
    response = fetch(client, site.url("/trickle"), thread_id=thread_id)
    elapsed = time.monotonic() - started
    body = assert_problem(response, 504, "TOOL_TIMEOUT_SECONDS")
    assert "http_get" in body["detail"]
    assert elapsed < TOOL_TIMEOUT + 1.5, f"the tool ran {elapsed:.1f}s"
    # The thread is not left locked by the failed run.
    assert fetch(client, site.url("/hello"), thread_id=thread_id).status_code == 200


def test_a_run_over_its_time_limit_is_504(client: httpx.Client) -> None:
    thread_id = f"run-timeout-{token()}"
    started = time.monotonic()
    response = client.post(
        "/api/enterprise/agents/plain/invoke",
        json={"input": "[stub:slow=6000] take your time", "thread_id": thread_id},
    )
    elapsed = time.monotonic() - started
    assert_problem(response, 504, "RUN_TIMEOUT_SECONDS")
    assert RUN_TIMEOUT - 0.5 < elapsed < RUN_TIMEOUT + 1.5, f"answered after {elapsed:.1f}s"
    after = client.post(
        "/api/enterprise/agents/plain/invoke", json={"input": "quick one", "thread_id": thread_id}
    )
    assert after.status_code == 200, after.text
