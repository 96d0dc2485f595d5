"""The load_balancer role's haproxy.cfg in a real HAProxy on loopback: while no replica is usable (in
maintenance, drained or down) clients get a 503 problem-details answer with Retry-After, not HAProxy's bare
page; with a replica up, requests are proxied as before."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from harness.http_checks import assert_problem
from harness.ports import free_port

PROJECT = Path(__file__).resolve().parents[2]
ROLE = PROJECT / "roles" / "load_balancer"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
RETRY_AFTER = 17

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy is not installed")


class _Replica(BaseHTTPRequestHandler):
    """A replica that is ready and answers every GET with 200."""

    def do_GET(self) -> None:
        body = b'{"status": "ready"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads answers, not an access log."""


@pytest.fixture(scope="module")
def replica() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replica)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def render_config(directory: Path, backends: list[dict[str, Any]]) -> Path:
    """haproxy.cfg from the role's template and defaults (Ansible's own templating, in this process), checked
    with `haproxy -c` as the configure step does."""
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(
        ansible_managed="Ansible managed",
        load_balancer_backends=backends,
        load_balancer_bind_address="127.0.0.1",
        load_balancer_port=free_port(),
        load_balancer_stats_port=free_port(),
        load_balancer_socket=str(directory / "admin.sock"),
        load_balancer_state_file=str(directory / "server-state"),
        load_balancer_check_interval="200ms",
        load_balancer_unavailable_retry_after=RETRY_AFTER,
    )
    templar = Templar(loader=DataLoader(), variables=variables)
    source = (ROLE / "templates" / "haproxy.cfg.j2").read_text()
    config = directory / "haproxy.cfg"
    config.write_text(str(templar.template(trust_as_template(source))))
    subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True, timeout=30)
    return config


class Balancer:
    def __init__(self, config: Path) -> None:
        text = config.read_text()
        self.port = int(text.split("\nfrontend langchain_platform\n    bind 127.0.0.1:")[1].split("\n")[0])
        self.socket = text.split("stats socket ")[1].split()[0]
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                assert self.proc.poll() is None, "haproxy exited"
                assert time.monotonic() < deadline, "haproxy did not listen"
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(self.socket)
            sock.sendall(line.encode() + b"\n")
            return sock.makefile().read()

    def wait_status(self, server: str, status: str) -> None:
        """Until `show stat` gives the server of the backend this status (UP, DOWN, MAINT, ...)."""
        deadline = time.monotonic() + 10
        while True:
            header, *rows = self.command("show stat").lstrip("# ").splitlines()
            columns = header.split(",")
            current = {row.split(",")[1]: row.split(",")[columns.index("status")] for row in rows if row}
            if current.get(server) == status:
                return
            assert time.monotonic() < deadline, f"{server} is {current.get(server)}, not {status}"
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def balancer(replica: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balancer]:
    """One replica up and one that nothing answers on (down after its failed checks)."""
    backends = [
        {"name": "app1:1", "address": "127.0.0.1", "port": replica},
        {"name": "app1:2", "address": "127.0.0.1", "port": free_port()},
    ]
    running = Balancer(render_config(tmp_path_factory.mktemp("haproxy"), backends))
    running.wait_status("app1:2", "DOWN")
    yield running
    running.stop()


def test_a_usable_replica_gets_the_requests(balancer: Balancer) -> None:
    response = httpx.get(f"{balancer.url}/health/ready", timeout=5)
    assert response.status_code == 200
    assert response.headers["X-Served-By"] == "app1:1"
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("state", ["maint", "drain"])
def test_with_no_replica_usable_the_answer_is_problem_details_with_retry_after(
    balancer: Balancer, state: str
) -> None:
    # The other replica is down already (nothing listens); maintenance or a drain of the up one leaves none.
    balancer.command(f"set server langchain_platform/app1:1 state {state}")
    try:
        response = httpx.get(f"{balancer.url}/api/enterprise/agents", timeout=5)
    finally:
        balancer.command("set server langchain_platform/app1:1 state ready")
    body = assert_problem(response, 503, "maintenance")
    assert response.headers["Retry-After"] == str(RETRY_AFTER)
    assert f"retry after {RETRY_AFTER} seconds" in body["detail"]


def test_with_every_replica_down_the_answer_is_the_same(tmp_path_factory: pytest.TempPathFactory) -> None:
    config = render_config(
        tmp_path_factory.mktemp("haproxy-down"),
        [{"name": "app1:1", "address": "127.0.0.1", "port": free_port()}],
    )
    down = Balancer(config)
    try:
        down.wait_status("app1:1", "DOWN")
        response = httpx.get(f"{down.url}/", timeout=5)
    finally:
        down.stop()
    assert_problem(response, 503, "unavailable")
    assert response.headers["Retry-After"] == str(RETRY_AFTER)
