"""playbooks/backup.yml and restore.yml (roles platform_backup, platform_restore) on the one test host.

The tests run in order on one flow of sets, kept in their own backup directory on the host: a backup set
(sidecars, manifest, no secret, private modes), a second set with the env file vault-encrypted, a restore of
it that brings back threads deleted after both sets (with a safety set), a damaged set refused with the
service untouched, retention that drops the oldest sets but no archive a kept set holds, and a backup with
nothing new that changes nothing. Restores across releases and a restore that fails are in
test_upgrade_rollback.py.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, LLM_KEY, api, inspect, playbook, run_json

from harness.playbook_runner import PlaybookResult

BACKUP_DIR = "/var/backups/langchain-platform-verify"
SET_ID = re.compile(r"^\d{8}T\d{6}Z(-safety)?$")
# An older id than any real set, for the damaged copy, so that it is never the newest.
DAMAGED_ID = "20000101T000000Z"


def backup_playbook(name: str, extra_vars: Mapping[str, Any] | None = None) -> PlaybookResult:
    """Run playbooks/<name> with the scenario's backup directory."""
    return playbook(name, {"platform_backup_dir": BACKUP_DIR, **(extra_vars or {})})


def output_of(result: PlaybookResult, *, ok: bool = True) -> str:
    """The play's output, after asserting its outcome and that no secret reached it."""
    assert (result.rc == 0) is ok, result.stdout[-4000:]
    for secret in (API_KEY, LLM_KEY):
        assert secret not in result.stdout, f"{secret!r} reached the playbook output"
    return result.stdout


def sets(host: Any) -> list[str]:
    names = host.run(f"ls -1 {BACKUP_DIR}").stdout.split()
    return sorted(name for name in names if SET_ID.match(name))


def manifest(host: Any, set_id: str) -> dict[str, Any]:
    data: dict[str, Any] = run_json(host, f"cat {BACKUP_DIR}/{set_id}/manifest.json")
    return data


def mode(host: Any, path: str) -> str:
    return str(host.run(f"stat -c %a {shlex.quote(path)}").stdout.strip())


def new_thread(host: Any, agent_name: str, text: str) -> str:
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": text})
    return str(answer["thread_id"])


def thread_status(host: Any, agent_name: str, thread_id: str, method: str = "GET") -> str:
    url = f"http://localhost:8000/api/enterprise/agents/{agent_name}/threads/{thread_id}"
    command = f"curl -s -o /dev/null -w '%{{http_code}}' -X {method} -H 'X-API-Key: {API_KEY}' {url}"
    return str(host.run(command).stdout)


@pytest.fixture(scope="module")
def first_set(host: Any, agent_name: str) -> Iterator[tuple[str, str]]:
    """The first set of an empty backup directory, and a thread it holds."""
    host.run(f"rm -rf {BACKUP_DIR}")
    thread = new_thread(host, agent_name, "kept by the backup")
    output_of(backup_playbook("backup.yml"))
    (set_id,) = sets(host)
    yield set_id, thread
    host.run(f"rm -rf {BACKUP_DIR}")


def test_backup_writes_a_checked_private_set_without_secrets(host: Any, first_set: tuple[str, str]) -> None:
    set_id, _ = first_set
    where = f"{BACKUP_DIR}/{set_id}"
    found = manifest(host, set_id)
    running = inspect(host)
    archive = f"image-{running['Image'].removeprefix('sha256:')[:12]}.tar.gz"
    assert found["set_id"] == set_id
    assert found["kind"] == "backup"
    assert found["image_id"] == running["Image"]
    assert found["image_ref"] == "langchain-platform:0.1.0"
    assert found["release"] == "0.1.0"
    assert found["image_archive"] == archive
    assert found["checkpointer"] == "sqlite"
    assert found["hosts"] == [found["host"]]
    assert set(found["files"]) == {archive, "state.sqlite", "config/platform.env", "config/api-keys"}
    assert found["files"][archive]["size"] > 10_000_000

    # Every sidecar checks, and says what the manifest says.
    for name, entry in found["files"].items():
        folder, base = os.path.split(f"{where}/{name}")
        assert host.run(f"cd {folder} && sha256sum -c --quiet {base}.sha256").rc == 0, name
        assert host.file(f"{where}/{name}.sha256").content_string.split()[0] == entry["sha256"]

    assert host.file(f"{where}/state.sqlite").content[:16] == b"SQLite format 3\x00"
    env = host.file(f"{where}/config/platform.env").content_string
    assert "OPENAI_API_KEY=<removed>" in env
    assert LLM_KEY not in env
    assert API_KEY not in host.run(f"cat {where}/config/*").stdout
    assert {mode(host, BACKUP_DIR), mode(host, where), mode(host, f"{where}/config")} == {"700"}
    files = host.run(f"find {where} -type f -printf '%m\\n'").stdout.split()
    assert set(files) == {"600"}, files


@pytest.fixture(scope="module")
def vault_password(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault password file on the controller, where the role runs ansible-vault."""
    path = tmp_path_factory.mktemp("vault") / "backup-pass"
    path.write_text(secrets.token_hex(16) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def vault_set(
    host: Any, agent_name: str, first_set: tuple[str, str], vault_password: Path
) -> tuple[str, str]:
    """The next set, with the env file vault-encrypted, and a thread written after the first set."""
    thread = new_thread(host, agent_name, "kept by the vault set")
    result = backup_playbook("backup.yml", {"platform_backup_vault_id": f"backup@{vault_password}"})
    assert vault_password.read_text().strip() not in output_of(result)
    newest = sets(host)[-1]
    assert newest != first_set[0]
    return newest, thread


def test_a_vault_set_holds_the_env_file_encrypted_and_whole(
    host: Any, vault_set: tuple[str, str], vault_password: Path
) -> None:
    set_id, _ = vault_set
    where = f"{BACKUP_DIR}/{set_id}"
    assert set(manifest(host, set_id)["files"]) >= {"config/platform.env.vault", "config/api-keys"}
    assert not host.file(f"{where}/config/platform.env").exists
    vaulted = host.file(f"{where}/config/platform.env.vault").content_string
    assert vaulted.startswith("$ANSIBLE_VAULT;1.2;AES256;backup\n")
    for clear in (LLM_KEY, "OPENAI_API_KEY", "CHECKPOINTER_URL"):
        assert clear not in vaulted
    assert mode(host, f"{where}/config/platform.env.vault") == "600"
    assert host.run(f"cd {where}/config && sha256sum -c --quiet platform.env.vault.sha256").rc == 0

    # The vault id that wrote it gives back the host's env file, byte for byte: a restorable configuration.
    vault = Path(sys.executable).with_name("ansible-vault")
    decrypted = subprocess.run(
        [str(vault), "decrypt", "--vault-id", f"backup@{vault_password}", "--output", "-", "-"],
        input=vaulted,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert decrypted == host.file("/etc/langchain-platform/platform.env").content_string
    assert f"OPENAI_API_KEY={LLM_KEY}" in decrypted.splitlines()


def test_restore_of_the_vault_set_brings_back_threads_deleted_after_the_backups(
    host: Any, agent_name: str, first_set: tuple[str, str], vault_set: tuple[str, str]
) -> None:
    (_, first_thread), (set_id, vault_thread) = first_set, vault_set
    for thread in (first_thread, vault_thread):
        assert thread_status(host, agent_name, thread, "DELETE") == "204"
        assert thread_status(host, agent_name, thread) == "404"

    # The newest set: the vault one, verified like any other (its encrypted env file has a checksum too).
    output = output_of(backup_playbook("restore.yml"))
    assert f"state of set {set_id}" in output

    for thread, text in ((first_thread, "kept by the backup"), (vault_thread, "kept by the vault set")):
        messages = api(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread}")["messages"]
        assert text in [str(message["content"]) for message in messages]
    assert api(host, "GET", "/health")["status"] == "healthy"
    # The state the restore replaced is kept: a safety set, without the thread.
    (safety,) = [name for name in sets(host) if name.endswith("-safety")]
    assert manifest(host, safety)["kind"] == "safety"
    assert host.file(f"{BACKUP_DIR}/{safety}/state.sqlite").size > 0


def test_a_damaged_set_is_refused_and_the_service_untouched(host: Any, first_set: tuple[str, str]) -> None:
    set_id, _ = first_set
    source, damaged = f"{BACKUP_DIR}/{set_id}", f"{BACKUP_DIR}/{DAMAGED_ID}"
    archive = manifest(host, set_id)["image_archive"]
    # A copy of the set (hard links) with one byte flipped in real copies of the archive and the state.
    flip = (
        'python3 -c \'import sys; f = open(sys.argv[1], "r+b"); f.seek(4096); b = f.read(1)[0]; f.seek(4096);'
        " f.write(bytes([b ^ 255]))' {}"
    )
    for name in (archive, "state.sqlite"):
        commands = [
            f"cp --remove-destination {source}/{name} {damaged}/{name}",
            flip.format(f"{damaged}/{name}"),
        ]
        if name == archive:
            commands.insert(0, f"cp -al {source} {damaged}")
        assert host.run(" && ".join(commands)).rc == 0
    before, sets_before = inspect(host), sets(host)

    output = output_of(backup_playbook("restore.yml", {"platform_restore_set": DAMAGED_ID}), ok=False)

    refusal = re.search(
        rf"Set {DAMAGED_ID} on \S+ is damaged[^:]*: (.*?)\. Nothing was stopped or changed", output
    )
    assert refusal, output[-3000:]
    assert sorted(refusal.group(1).split(", ")) == sorted([archive, "state.sqlite"])
    after = inspect(host)
    assert (after["Id"], after["State"]["StartedAt"]) == (before["Id"], before["State"]["StartedAt"])
    assert api(host, "GET", "/health")["status"] == "healthy"
    assert sets(host) == sets_before  # not even a safety set


def test_retention_keeps_the_newest_sets_then_nothing_new_changes_nothing(
    host: Any, agent_name: str, first_set: tuple[str, str]
) -> None:
    set_id, _ = first_set
    new_thread(host, agent_name, "a change since the first set")
    output_of(backup_playbook("backup.yml", {"platform_backup_keep": 2}))

    remaining = sets(host)
    assert len(remaining) == 2
    assert DAMAGED_ID not in remaining
    assert set_id not in remaining
    newest = remaining[-1] if not remaining[-1].endswith("-safety") else remaining[0]
    found = manifest(host, newest)
    # The archive came from the first set as a hard link: still whole after that set was removed.
    where = f"{BACKUP_DIR}/{newest}"
    assert host.run(f"cd {where} && sha256sum -c --quiet {found['image_archive']}.sha256").rc == 0

    again = backup_playbook("backup.yml", {"platform_backup_keep": 2})
    output = output_of(again)
    assert again.changed_hosts == {}
    assert f"Nothing new since set {newest}" in output
    assert sets(host) == remaining
