"""The runbook's operations across the fleet: maintenance windows, emergency rollback, maintenance through
the balancer, PostgreSQL backup and restore, every playbook under --check, client- and provider-key rotation.

Runs last (Molecule passes the modules in name order), on whatever the earlier modules left: in CI 0.1.1
with one replica per app host; straight after converge 0.1.0 (the rollback test then deploys 0.1.1 first).
The tests run in file order. The rollback leaves the fleet on 0.1.0, the inventory's release, so that the
check-mode test can expect the converged playbooks to change nothing; the provider-key rotation comes last
because it leaves the replicas on a provider key the inventory does not name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from fleet_hosts import (
    API_KEY,
    APP_HOSTS,
    INVOKE,
    LB_URL,
    PROJECT,
    assert_no_change,
    docker_exec,
    lb_servers,
    load,
    playbook,
    record,
    replicas,
    stub,
)
from platformctl.recap import HostStats

GOOD = "0.1.1"
# The release converge deploys (the inventory's platform_deploy_version): the one before GOOD in every
# host's release history, so the rollback's target.
PREVIOUS = "0.1.0"
HOSTS = ("lb1", *APP_HOSTS, "db1")
STATE_DIR = "/var/lib/langchain-platform"
# Its own directory, so that the sets this module writes and removes are only its own.
BACKUP_DIR = "/var/backups/langchain-platform-fleet-verify"
THREAD = "/api/enterprise/agents/assistant/threads/{}"
AGENTS = "/api/enterprise/agents"
# The inventory's provider key (molecule.yml) and the one the rotation moves to: the stub accepts any.
PROVIDER_KEY = "sk-fleet-dummy-key"
NEW_PROVIDER_KEY = "sk-fleet-rotated-provider-key"
# Whole playbooks on four hosts, some of them under load.
pytestmark = pytest.mark.timeout(1500)


def words(output: str) -> str:
    """Ansible output without colours and line wraps, for comparing messages."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", output).split())


def containers() -> dict[str, list[str]]:
    """Per app host, each replica's name, id and start: a restart keeps the id but not the start time."""
    script = (
        "docker ps -aq --filter name=langchain-platform"
        " | xargs -r docker inspect -f '{{.Name}} {{.Id}} {{.State.StartedAt}}'"
    )
    return {host: sorted(docker_exec(host, "sh", "-c", script).splitlines()) for host in APP_HOSTS}


def versions(host: str) -> set[str]:
    return {replica["version"] for replica in replicas(host).values()}


def answers_by_host(
    method: str, path: str, key: str = API_KEY, body: dict[str, Any] | None = None
) -> dict[str, httpx.Response]:
    """The first answer each app host gives through the balancer (X-Served-By names the replica)."""
    seen: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=LB_URL, headers={"X-API-Key": key}, timeout=60) as client:
        for _ in range(30):
            answer = client.request(method, path, json=body)
            seen.setdefault(answer.headers.get("X-Served-By", "-").split(":")[0], answer)
            if set(APP_HOSTS) <= set(seen):
                break
    return seen


def statuses_by_host(method: str, path: str, key: str = API_KEY) -> dict[str, int]:
    return {host: answer.status_code for host, answer in answers_by_host(method, path, key).items()}


def wait_for(what: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.5)


def all_up() -> bool:
    return set(lb_servers().values()) == {(2, 0)}


def windows_not_now() -> tuple[list[dict[str, Any]], str, str]:
    """Two maintenance windows in two zones, neither open now; the guard's text of the next opening
    (the Berlin one, three days on at most) and of that window."""
    now = datetime.now(UTC)
    berlin = ZoneInfo("Europe/Berlin")
    berlin_day = (now + timedelta(days=3)).strftime("%a")
    windows = [
        {"days": [berlin_day], "start": "00:00", "end": "01:00", "timezone": "Europe/Berlin"},
        {
            "days": [(now + timedelta(days=4)).strftime("%a")],
            "start": "22:00",
            "end": "23:30",
            "timezone": "America/New_York",
        },
    ]
    today = now.astimezone(berlin).date()
    opens = next(
        datetime.combine(day, clock(), berlin)
        for day in (today + timedelta(days=k) for k in range(1, 8))
        if day.strftime("%a") == berlin_day
    )
    return windows, opens.strftime("%a %Y-%m-%d %H:%M %Z"), f"(window {berlin_day} 00:00-01:00 Europe/Berlin)"


def host_text(host: str, command: str) -> str:
    """What `command` prints on `host` (stdout and stderr): searched for key values on the controller, so that
    no key is sent to the hosts on a command line."""
    return docker_exec(host, "sh", "-c", f"{command} 2>&1")


def assert_no_key_anywhere(keys: dict[str, str], outputs: dict[str, str]) -> None:
    """No key value in the playbooks' output, any replica's container log or any host's journal."""
    places = {f"ansible output of {name}": text for name, text in outputs.items()}
    for host in APP_HOSTS:
        for name in replicas(host):
            places[f"docker logs {name} on {host}"] = host_text(host, f"docker logs {name}")
    for host in HOSTS:
        places[f"journal of {host}"] = host_text(host, "journalctl --no-pager -o cat")
    leaks = [
        f"{label} in {place}" for label, key in keys.items() for place, text in places.items() if key in text
    ]
    assert leaks == []


@pytest.fixture(scope="module")
def backup_dir() -> Iterator[str]:
    """The module's backup directory, empty at the start on every host and removed at the end."""
    for host in HOSTS:
        docker_exec(host, "rm", "-rf", BACKUP_DIR)
    yield BACKUP_DIR
    for host in HOSTS:
        docker_exec(host, "rm", "-rf", BACKUP_DIR)


REFUSED = {
    "deploy": ("deploy.yml", (), {}),
    "deploy --tags platform_deploy": ("deploy.yml", ("platform_deploy",), {}),
    "scale": ("scale.yml", (), {"platform_deploy_replicas": 2}),
    "restart": ("restart.yml", (), {}),
    "restore": ("restore.yml", (), {}),
}


@pytest.mark.parametrize("label", REFUSED)
def test_disruptive_playbook_is_refused_outside_the_windows(label: str) -> None:
    name, tags, extra_vars = REFUSED[label]
    before = containers()
    windows, opens, window = windows_not_now()
    rc, recap, out, seconds = playbook(
        name, {"platform_maintenance_windows": windows, **extra_vars}, tags=tags
    )
    record(f"{label}: refused outside the windows", None, seconds)
    assert rc != 0, "a disruptive playbook must not run outside the maintenance windows"
    text = words(out)
    assert "outside the maintenance windows of app1" in text, text[-3000:]
    assert "00:00-01:00 Europe/Berlin; " in text
    assert "22:00-23:30 America/New_York" in text
    assert f"The next window opens {opens} (Europe/Berlin) {window}" in text
    assert '-e platform_window_override="<reason>"' in text
    # Stopped at the guard: nothing changed anywhere, the same containers run on both hosts.
    assert_no_change(recap)
    assert containers() == before
    assert all_up()


def test_emergency_rollback_outside_the_windows_fails_no_request() -> None:
    if any(versions(host) != {GOOD} for host in APP_HOSTS):
        # A fleet fresh from converge, or one an earlier run of this module rolled back (GOOD is marked bad).
        rc, _, out, seconds = playbook(
            "deploy.yml", {"platform_deploy_version": GOOD, "platform_deploy_force": True}
        )
        record(f"setup: forced deploy {GOOD}", None, seconds)
        assert rc == 0, out[-3000:]
    windows, opens, _ = windows_not_now()

    with load() as run:
        rc, _, out, seconds = playbook("rollback.yml", {"platform_maintenance_windows": windows})
    summary = run.result()
    record(f"emergency rollback {GOOD} -> {PREVIOUS}", summary, seconds)
    assert rc == 0, out[-3000:]
    assert summary["failures"] == 0, summary["failure_examples"]
    assert summary["requests"] > 0
    assert f"{GOOD} -> {PREVIOUS}" in words(out)
    assert all_up()
    for host in APP_HOSTS:
        assert versions(host) == {PREVIOUS}, host
        assert GOOD in docker_exec(host, "cat", f"{STATE_DIR}/bad-releases").split(), host
        assert f"rollback playbook: {GOOD} -> langchain-platform:{PREVIOUS}" in docker_exec(
            host, "tail", "-n", "1", f"{STATE_DIR}/releases.log"
        )
        entry = json.loads(docker_exec(host, "tail", "-n", "1", f"{STATE_DIR}/operations.log"))
        assert entry["event"] == "emergency", entry
        assert entry["window"] == "out-of-window"
        assert entry["reason"] == "emergency rollback"
        assert entry["play"] == "Roll langchain-platform back to the previous release"
        assert entry["next_window"].startswith(opens), (entry, opens)

    # The release left is refused by a plain deploy, before anything changes.
    before = containers()
    rc, recap, out, seconds = playbook("deploy.yml", {"platform_deploy_version": GOOD})
    record(f"plain deploy of bad release {GOOD} refused", None, seconds)
    assert rc != 0
    assert f"Release {GOOD} is marked bad on app1" in words(out), words(out)[-3000:]
    assert "-e platform_deploy_force=true" in words(out)
    assert_no_change(recap)
    assert containers() == before


def test_maintenance_answers_503_with_retry_after_through_the_balancer() -> None:
    rc, _, out, on_seconds = playbook("maintenance.yml", {"platform_maintenance": "on"})
    try:
        assert rc == 0, out[-3000:]
        # The balancer's health checks take the replicas out (fall 2 x 2 s): then HAProxy answers itself.
        wait_for(
            "every replica down on the balancer", lambda: {op for op, _ in lb_servers().values()} == {0}, 30
        )
        answer = httpx.get(f"{LB_URL}{AGENTS}", headers={"X-API-Key": API_KEY}, timeout=30)
    finally:
        rc_off, _, out_off, off_seconds = playbook("maintenance.yml", {"platform_maintenance": "off"})
    record("maintenance on (every app host)", None, on_seconds)
    record("maintenance off", None, off_seconds)
    assert answer.status_code == 503, answer.text
    assert "X-Served-By" not in answer.headers, "a replica answered, not the balancer"
    assert answer.headers["Content-Type"] == "application/problem+json"
    retry_after = answer.headers["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) > 0
    problem = answer.json()
    assert problem["status"] == 503
    assert f"retry after {retry_after} seconds" in problem["detail"]

    assert rc_off == 0, out_off[-3000:]
    wait_for("every replica back on the balancer", all_up, 30)
    assert statuses_by_host("GET", AGENTS) == {host: 200 for host in APP_HOSTS}


def new_turn(text: str, prefix: str) -> str:
    """One agent turn through the balancer on a new thread named after `prefix`; its thread id."""
    thread = f"{prefix}-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{LB_URL}{INVOKE}",
        json={"input": text, "thread_id": thread},
        headers={"X-API-Key": API_KEY},
        timeout=60,
    )
    assert created.status_code == 200, created.text
    return thread


def test_postgres_backup_and_restore_bring_back_a_deleted_thread(backup_dir: str) -> None:
    thread = new_turn("kept by the backup", "fleet-backup")

    # The image archive is proven on one host (molecule/default); here the database: no image per host.
    rc, _, out, seconds = playbook(
        "backup.yml", {"platform_backup_dir": backup_dir, "platform_backup_image": False}
    )
    record("backup (PostgreSQL state)", None, seconds)
    assert rc == 0, out[-3000:]
    sets = {host: docker_exec(host, "ls", "-1", backup_dir).split() for host in (*APP_HOSTS, "db1")}
    (set_id,) = sets["app1"]
    assert sets == {"app1": [set_id], "app2": [set_id], "db1": [set_id]}, sets
    # One dump for the database, on its host; the app hosts' manifests point there.
    dumps = {
        host: host_text(host, f"find {backup_dir} -name '*.sql.gz' 2>/dev/null || true").split()
        for host in HOSTS
    }
    assert dumps == {"lb1": [], "app1": [], "app2": [], "db1": [f"{backup_dir}/{set_id}/state.sql.gz"]}
    for host in APP_HOSTS:
        manifest = json.loads(docker_exec(host, "cat", f"{backup_dir}/{set_id}/manifest.json"))
        assert (manifest["set_id"], manifest["checkpointer"], manifest["state_host"]) == (
            set_id,
            "postgresql",
            "db1",
        )

    deleted = httpx.delete(f"{LB_URL}{THREAD.format(thread)}", headers={"X-API-Key": API_KEY}, timeout=60)
    assert deleted.status_code == 204, deleted.text
    assert statuses_by_host("GET", THREAD.format(thread)) == {host: 404 for host in APP_HOSTS}

    rc, _, out, seconds = playbook(
        "restore.yml", {"platform_backup_dir": backup_dir, "platform_restore_set": set_id}
    )
    record("restore (PostgreSQL state, every replica stopped)", None, seconds)
    assert rc == 0, out[-3000:]
    assert f"state of set {set_id}" in words(out)
    wait_for("every replica back on the balancer", all_up, 30)
    restored = answers_by_host("GET", THREAD.format(thread))
    assert set(restored) == set(APP_HOSTS)
    for host, answer in restored.items():
        assert answer.status_code == 200, (host, answer.text)
        assert "kept by the backup" in [m["content"] for m in answer.json()["messages"]], host
    # The state the restore replaced is kept as a safety set, its dump on the database host.
    safety = [name for name in docker_exec("db1", "ls", "-1", backup_dir).split() if name.endswith("-safety")]
    assert len(safety) == 1, safety
    assert docker_exec("db1", "ls", f"{backup_dir}/{safety[0]}").split().count("state.sql.gz") == 1

    # Retention reaches the database host too, outside the play: keep 1 leaves only the new set there.
    new_turn("after the restore", "fleet-retention")
    keep_one = {"platform_backup_dir": backup_dir, "platform_backup_image": False, "platform_backup_keep": 1}
    rc, _, out, _ = playbook("backup.yml", keep_one)
    assert rc == 0, out[-3000:]
    kept = {host: docker_exec(host, "ls", "-1", backup_dir).split() for host in (*APP_HOSTS, "db1")}
    (newest,) = kept["db1"]
    assert newest > set_id, kept
    assert kept == {host: [newest] for host in kept}, kept


def fleet_state(backup_dir: str) -> dict[str, str]:
    """What a real run of any playbook would change: per host the replicas (ids, start times), the images, the
    platform's configuration and state files, the backup sets and HAProxy's configuration; and the balancer's
    server states."""
    script = (
        "docker ps -aq --filter name=langchain-platform"
        " | xargs -r docker inspect -f '{{.Name}} {{.Id}} {{.State.StartedAt}}'; "
        "docker images -q --no-trunc | sort -u; "
        f"find /etc/langchain-platform {STATE_DIR} {backup_dir} /etc/haproxy /etc/docker -type f"
        " -exec md5sum {} + | sort; true"
    )
    state = {host: docker_exec(host, "sh", "-c", f"({script}) 2>/dev/null") for host in HOSTS}
    state["balancer"] = json.dumps(lb_servers(), sort_keys=True)
    return state


def check_run(
    wrapper: Path, names: list[str], extra_vars: dict[str, Any]
) -> tuple[int, dict[str, HostStats], str, float]:
    """One ansible-playbook --check for several playbooks (one process instead of one each: start-up and
    connections are most of a short run), through a playbook at `wrapper` that imports them."""
    plays = [
        {"name": f"Check {name}", "ansible.builtin.import_playbook": str(PROJECT / "playbooks" / name)}
        for name in names
    ]
    wrapper.write_text(yaml.safe_dump(plays, sort_keys=False))
    return playbook(wrapper, extra_vars, check=True)


def test_every_playbook_under_check_changes_nothing(backup_dir: str, tmp_path: Path) -> None:
    thread = new_turn("kept by check mode", "fleet-check")
    before = fleet_state(backup_dir)

    # The fleet is what the inventory says (0.1.0, one replica, maintenance off): nothing to preview.
    # deploy.yml runs as the deploy play of site.yml and scale.yml, which import it. Both app hosts in one
    # batch: check mode disrupts nothing, and each batch of a deploy play costs seconds of round trips.
    converged = ["site.yml", "scale.yml", "rollback.yml", "maintenance.yml"]
    rc, recap, out, seconds = check_run(
        tmp_path / "converged.yml", converged, {"platform_maintenance": "off", "platform_deploy_serial": 2}
    )
    record(f"--check of {', '.join(converged)}", None, seconds)
    assert rc == 0, out[-4000:]
    assert {host: stats.failed for host, stats in recap.items() if stats.failed} == {}
    assert_no_change(recap)

    # The procedures: they preview what a real run would do (changed; log_level.yml always, the API has no
    # read-only view of the level), and change nothing.
    key_file, password = tmp_path / "api-key.new", tmp_path / "vault-pass"
    password.write_text("fleet-vault-password\n")
    procedures = [
        "log_level.yml",
        # backup.yml and restore.yml are left out: under --check with PostgreSQL state, a run that would write
        # a new set fails copying into the set directory check mode did not create (open defect, issue 12).
        "restart.yml",
        "sessions_clear.yml",
        "prune.yml",
        "report.yml",
        "rotate_logs.yml",
        "rotate_keys.yml",
    ]
    rc, recap, out, seconds = check_run(
        tmp_path / "procedures.yml",
        procedures,
        {
            "platform_log_level": "INFO",
            "platform_backup_dir": backup_dir,
            "platform_sessions_thread_ids": [thread],
            "platform_report_dir": str(tmp_path / "reports"),
            "key_rotation_key_file": str(key_file),
            "key_rotation_vault_password_file": str(password),
        },
    )
    record(f"--check of {', '.join(procedures)}", None, seconds)
    assert rc == 0, out[-4000:]
    assert {host: stats.failed for host, stats in recap.items() if stats.failed} == {}
    assert API_KEY not in out
    assert fleet_state(backup_dir) == before
    assert not key_file.exists(), "check mode wrote a client key on the controller"
    assert statuses_by_host("GET", THREAD.format(thread)) == {host: 200 for host in APP_HOSTS}


def vault_view(key_file: Path, password: Path) -> str:
    view = [
        str(Path(sys.executable).parent / "ansible-vault"),
        "view",
        "--vault-password-file",
        str(password),
    ]
    return subprocess.run([*view, str(key_file)], check=True, capture_output=True, text=True).stdout.strip()


def test_client_key_rotation_with_a_grace_window_fails_no_request(tmp_path: Path) -> None:
    key_file, password = tmp_path / "api-key.new", tmp_path / "vault-pass"
    password.write_text("fleet-vault-password\n")
    rotate = {"key_rotation_key_file": str(key_file), "key_rotation_vault_password_file": str(password)}
    outputs: dict[str, str] = {}
    new_key = ""
    try:
        # Clients on the old key all through the start: the window opens without failing them.
        with load(API_KEY) as run:
            rc, _, outputs["start"], seconds = playbook(
                "rotate_keys.yml", {**rotate, "key_rotation_phase": "start"}
            )
            assert rc == 0, outputs["start"][-3000:]
            new_key = vault_view(key_file, password)
            in_window = {
                "new": statuses_by_host("GET", AGENTS, new_key),
                "old": statuses_by_host("GET", AGENTS, API_KEY),
            }
        summary = run.result()
        record("client key rotation: start (old key under load)", summary, seconds)
        assert summary["failures"] == 0, summary["failure_examples"]
        assert summary["requests"] > 0
        assert in_window == {"new": {h: 200 for h in APP_HOSTS}, "old": {h: 200 for h in APP_HOSTS}}

        # Clients moved to the new key: the finish fails none of them either.
        with load(new_key) as run:
            rc, _, outputs["finish"], seconds = playbook(
                "rotate_keys.yml", {**rotate, "key_rotation_phase": "finish"}
            )
        summary = run.result()
        record("client key rotation: finish (new key under load)", summary, seconds)
        assert rc == 0, outputs["finish"][-3000:]
        assert summary["failures"] == 0, summary["failure_examples"]
        assert statuses_by_host("GET", AGENTS, API_KEY) == {h: 401 for h in APP_HOSTS}
        assert statuses_by_host("GET", AGENTS, new_key) == {h: 200 for h in APP_HOSTS}
        assert_no_key_anywhere({"the new key": new_key, "the old key": API_KEY}, outputs)
    finally:
        # Back to the inventory's key, which the later tests and every playbook's admin calls use.
        if new_key:
            rc, _, outputs["back"], _ = playbook(
                "rotate_keys.yml",
                {
                    "key_rotation_phase": "finish",
                    "key_rotation_old_key": new_key,
                    "key_rotation_new_key": API_KEY,
                },
            )
            assert rc == 0, outputs["back"][-3000:]
    assert new_key not in outputs["back"]
    assert statuses_by_host("GET", AGENTS, API_KEY) == {h: 200 for h in APP_HOSTS}


def test_provider_key_rotation_fails_no_request() -> None:
    before = containers()
    stub("DELETE", "/_requests")
    with load() as run:
        rc, _, out, seconds = playbook(
            "rotate_keys.yml",
            {
                "key_rotation_client": False,
                "key_rotation_provider_keys": {"OPENAI_API_KEY": NEW_PROVIDER_KEY},
            },
        )
    summary = run.result()
    record("provider key rotation (replicas recreated one at a time)", summary, seconds)
    assert rc == 0, out[-3000:]
    assert summary["failures"] == 0, summary["failure_examples"]
    assert summary["requests"] > 0
    assert "new key of OPENAI_API_KEY answered 200" in words(out)
    after = containers()
    assert all(set(after[host]).isdisjoint(before[host]) for host in APP_HOSTS), (before, after)
    assert all_up()
    # The key was checked against the provider before any replica changed, and every replica now calls the
    # provider with it.
    bearer = f"Bearer {NEW_PROVIDER_KEY}"
    checks = [entry for entry in stub("GET", "/_requests") if entry["path"].rstrip("/").endswith("/models")]
    assert checks, "the new provider key was not tried before the replicas changed"
    assert {entry["headers"].get("authorization") for entry in checks} == {bearer}
    stub("DELETE", "/_requests")
    thread = f"fleet-provider-{uuid.uuid4().hex[:8]}"
    answered = answers_by_host("POST", INVOKE, body={"input": "after the rotation", "thread_id": thread})
    assert {host: answer.status_code for host, answer in answered.items()} == {h: 200 for h in APP_HOSTS}
    chats = [entry for entry in stub("GET", "/_requests") if entry["path"].endswith("/chat/completions")]
    assert chats, "no provider call after the rotation"
    assert {entry["headers"].get("authorization") for entry in chats} == {bearer}
    assert_no_key_anywhere(
        {"the new provider key": NEW_PROVIDER_KEY, "the old provider key": PROVIDER_KEY}, {"rotation": out}
    )
