"""Upgrade 0.1.0 -> 0.1.1 with playbooks/deploy.yml, a broken 0.1.2 build that must roll back, restores of
a set taken on 0.1.0 while 0.1.1 runs, then playbooks/rollback.yml (RB-002) back to 0.1.0: the release left
marked bad and refused by a plain deploy.

The tests run in file order: each starts from the state the previous one left (the upgrade's deploys are
the restores' and the rollback's too). One backup set, taken on 0.1.0 before the upgrade, serves them all:
as a copy whose state the service cannot open (that restore fails after the replicas stopped and puts the
previous state back); restored while 0.1.1 runs with 0.1.0's image removed (the release comes back from the
set's archive); and as the archive the rollback loads when the host lost the 0.1.0 tag.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import API_KEY, api, deploy, inspect, playbook

from harness.playbook_runner import PlaybookResult

THREAD_INPUT = "remember this across the upgrade"
# The roles' default directory: restore.yml and rollback.yml run as an operator types them, without -e.
BACKUP_DIR = "/var/backups/langchain-platform"
# An older id than the real set's, for the copy with an unreadable state: never the newest set.
UNREADABLE_SET = "20000101T000000Z"


def image_id(host: Any, ref: str) -> str:
    return str(host.run(f"docker image inspect -f '{{{{.Id}}}}' {ref}").stdout.strip())


def release_tags(host: Any, image: str) -> list[str]:
    """The langchain-platform tags of an image."""
    listing = host.run("docker images langchain-platform --format '{{.Tag}} {{.ID}}'").stdout.split("\n")
    short = image.removeprefix("sha256:")[:12]
    pairs = (line.partition(" ") for line in listing)
    return [tag for tag, _, ident in pairs if ident == short]


def rollback(**extra_vars: Any) -> PlaybookResult:
    return playbook("rollback.yml", extra_vars)


def restore(**extra_vars: Any) -> PlaybookResult:
    return playbook("restore.yml", extra_vars)


def manifest(host: Any, set_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(host.file(f"{BACKUP_DIR}/{set_id}/manifest.json").content_string)
    return data


def remove_release_tag(host: Any, version: str) -> None:
    """`docker rmi` the release's tag: its image goes too when nothing else names it (a rebuilt host)."""
    ref = f"langchain-platform:{version}"
    result = host.run(f"docker rmi {ref}")
    assert result.rc == 0, result.stderr
    assert host.run(f"docker image inspect {ref}").rc != 0


def loaded_from_archive(output: str, task: str) -> bool:
    """Whether the task `task` (a task name's end) reported changed: the archive was loaded."""
    return re.search(rf"{re.escape(task)}\S* \*+ changed:", words(output)) is not None


def words(output: str) -> str:
    """Ansible output without colours and line wraps, for comparing messages."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", output).split())


@pytest.fixture(scope="module")
def thread(host: Any, agent_name: str) -> str:
    """A conversation started on 0.1.0, before any upgrade."""
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": THREAD_INPUT})
    return str(answer["thread_id"])


@pytest.fixture(scope="module")
def release_set(host: Any, thread: str) -> Iterator[str]:
    """A backup set taken on 0.1.0 before the upgrade: the thread and 0.1.0's image archive."""
    host.run(f"rm -rf {BACKUP_DIR}")
    result = playbook("backup.yml")
    assert result.rc == 0, result.stdout[-4000:]
    (set_id,) = host.run(f"ls -1 {BACKUP_DIR}").stdout.split()
    assert manifest(host, set_id)["image_ref"] == "langchain-platform:0.1.0"
    yield set_id
    host.run(f"rm -rf {BACKUP_DIR}")


def thread_texts(host: Any, agent_name: str, thread_id: str) -> list[str]:
    messages = api(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread_id}")["messages"]
    return [str(message["content"]) for message in messages]


def new_thread(host: Any, agent_name: str, text: str) -> str:
    return str(api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": text})["thread_id"])


def thread_status(host: Any, agent_name: str, thread_id: str) -> str:
    url = f"http://localhost:8000/api/enterprise/agents/{agent_name}/threads/{thread_id}"
    return str(host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'X-API-Key: {API_KEY}' {url}").stdout)


def history(host: Any) -> list[str]:
    return host.file("/var/lib/langchain-platform/release-history").content_string.split()


def test_upgrade_keeps_the_release_tag_and_threads(
    host: Any, agent_name: str, thread: str, release_set: str
) -> None:
    old_image = inspect(host)["Image"]
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)

    result = deploy("0.1.1")
    assert result.rc == 0, result.stdout[-4000:]

    container = inspect(host)
    assert container["Config"]["Image"] == "langchain-platform:0.1.1"
    assert container["Image"] == image_id(host, "langchain-platform:0.1.1")
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.1"
    assert api(host, "GET", "/health")["status"] == "healthy"

    # The backup of the image rolled away from is its release name, the same on every host.
    assert release_tags(host, old_image) == ["0.1.0"]
    assert not [tag for tag in release_tags(host, container["Image"]) if tag.startswith("backup-")]
    releases = host.file("/var/lib/langchain-platform/releases.log")
    assert releases.contains("backup langchain-platform:0.1.0 = langchain-platform:0.1.0")
    history = host.file("/var/lib/langchain-platform/release-history").content_string.split()
    assert history[-2:] == ["0.1.0", "0.1.1"]

    assert THREAD_INPUT in thread_texts(host, agent_name, thread), "the thread did not survive the upgrade"


def test_broken_build_is_rolled_back_and_the_play_fails(host: Any, agent_name: str, thread: str) -> None:
    result = deploy("0.1.2-broken", platform_deploy_health_timeout=30)
    output = result.stdout
    assert result.rc != 0, output[-4000:]
    assert "New image langchain-platform:0.1.2-broken never became healthy" in output
    assert "Rolled back to langchain-platform:0.1.1" in output
    assert "docker logs langchain-platform" in output

    container = inspect(host)
    assert container["Config"]["Image"] == "langchain-platform:0.1.1"
    assert container["State"]["Running"] is True
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.1"
    assert api(host, "GET", "/health")["status"] == "healthy"
    assert "0.1.1" in release_tags(host, container["Image"])
    assert host.file("/var/lib/langchain-platform/release-history").content_string.split()[-1] == "0.1.1"
    assert host.file("/var/lib/langchain-platform/releases.log").contains("rollback langchain-platform")
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)


def test_a_restore_that_fails_after_the_stop_puts_the_previous_state_back(
    host: Any, agent_name: str, thread: str, release_set: str
) -> None:
    """A copy of the set whose state passes its checksum but is no SQLite database (as a faulty writer would
    leave it): the replicas stop, take it, and never turn ready; the restore then puts the safety set back."""
    # The copy's files are hard links: the three rewritten ones are unlinked first, so the real set's stay.
    rewrite = (
        "import hashlib, json, os, sys; d = sys.argv[1]; m = json.load(open(d + '/manifest.json'));"
        " data = os.urandom(65536); digest = hashlib.sha256(data).hexdigest();"
        " m.update(set_id=os.path.basename(d));"
        " m['files']['state.sqlite'] = {'size': len(data), 'sha256': digest};"
        " [os.unlink(d + '/' + name) for name in ('state.sqlite', 'state.sqlite.sha256', 'manifest.json')];"
        " open(d + '/state.sqlite', 'wb').write(data);"
        " open(d + '/state.sqlite.sha256', 'w').write(digest + '  state.sqlite\\n');"
        " open(d + '/manifest.json', 'w').write(json.dumps(m))"
    )
    copy = f"{BACKUP_DIR}/{UNREADABLE_SET}"
    rewritten = f"python3 -c {shlex.quote(rewrite)} {copy}"
    assert host.run(f"cp -al {BACKUP_DIR}/{release_set} {copy} && {rewritten}").rc == 0
    assert host.run(f"cd {copy} && sha256sum -c --quiet state.sqlite.sha256").rc == 0
    later = new_thread(host, agent_name, "written on 0.1.1 after the set")
    before = inspect(host)

    result = restore(platform_restore_set=UNREADABLE_SET, platform_deploy_health_timeout=20)
    said = words(result.stdout)
    assert result.rc != 0, said[-4000:]
    failure = re.search(
        rf"Restoring set {UNREADABLE_SET} on \S+ failed \((.*?)\)\. The previous state \(safety set (\S+)\)"
        r" was put back and the replicas run again: langchain-platform runs (\S+), the image it ran before",
        said,
    )
    assert failure, said[-4000:]
    assert "/health/ready" in failure.group(1)
    assert failure.group(3) == "langchain-platform:0.1.1"

    after = inspect(host)
    assert (after["Config"]["Image"], after["Image"]) == (before["Config"]["Image"], before["Image"])
    assert after["State"]["Running"] is True
    health = api(host, "GET", "/health")
    assert (health["status"], health["version"]) == ("healthy", "0.1.1")
    # The state is the one before the restore (the safety set's), not the set's: the later thread is there.
    assert "written on 0.1.1 after the set" in thread_texts(host, agent_name, later)
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)
    assert manifest(host, failure.group(2))["kind"] == "safety"
    assert history(host)[-1] == "0.1.1"
    host.run(f"rm -rf {copy}")


def test_a_restore_runs_the_sets_release_loaded_from_its_archive(
    host: Any, agent_name: str, thread: str, release_set: str
) -> None:
    """The 0.1.0 set restored while 0.1.1 runs, after the host lost 0.1.0's image: its archive is loaded and
    the release goes out through the rollout. The next plain deploy runs the inventory's release again."""
    later = new_thread(host, agent_name, "written on 0.1.1, after the set")
    remove_release_tag(host, "0.1.0")

    result = restore()
    output = words(result.stdout)
    assert result.rc == 0, output[-4000:]
    assert loaded_from_archive(result.stdout, "Load the set's image archive"), output[-4000:]
    assert f"state of set {release_set}" in output
    assert "set platform_deploy_version to 0.1.0 in the inventory" in output

    container = inspect(host)
    assert container["Config"]["Image"] == "langchain-platform:0.1.0"
    assert container["Image"] == manifest(host, release_set)["image_id"]
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.0"
    health = api(host, "GET", "/health")
    assert (health["status"], health["version"]) == ("healthy", "0.1.0")
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)
    assert thread_status(host, agent_name, later) == "404", "the set predates this thread"
    assert history(host)[-1] == "0.1.0"
    bad = host.file("/var/lib/langchain-platform/bad-releases")
    assert not bad.exists or not bad.content_string.split(), "a restore marks no release bad"

    again = deploy("0.1.1")
    assert again.rc == 0, again.stdout[-4000:]
    assert inspect(host)["Config"]["Image"] == "langchain-platform:0.1.1"


def test_rollback_returns_to_the_previous_release_and_marks_the_left_one_bad(
    host: Any, agent_name: str, thread: str, release_set: str
) -> None:
    # A host that lost the release's tag (a rebuilt host) takes the image from the backup set's archive.
    remove_release_tag(host, "0.1.0")
    result = rollback()
    assert result.rc == 0, result.stdout[-4000:]
    assert "0.1.1 -> 0.1.0" in words(result.stdout)
    # Loaded on the host from the set, not copied from the controller's release archive (deploy's image.yml).
    assert loaded_from_archive(result.stdout, "Load the archive into dockerd"), result.stdout[-4000:]
    assert "Copy the archive to the host" not in result.stdout
    assert inspect(host)["Image"] == manifest(host, release_set)["image_id"]

    container = inspect(host)
    assert container["Config"]["Image"] == "langchain-platform:0.1.0"
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.0"
    health = api(host, "GET", "/health")
    assert (health["status"], health["version"]) == ("healthy", "0.1.0")
    assert THREAD_INPUT in thread_texts(host, agent_name, thread), "the v1-era thread is not readable"
    assert host.file("/var/lib/langchain-platform/bad-releases").content_string.split() == ["0.1.1"]
    assert host.file("/var/lib/langchain-platform/releases.log").contains(
        "rollback playbook: 0.1.1 -> langchain-platform:0.1.0"
    )

    again = rollback()
    assert again.rc == 0, again.stdout[-4000:]
    assert again.changed_hosts == {}, "a second rollback must not go one more release back"
    assert "already on 0.1.0" in words(again.stdout)


def test_a_plain_deploy_refuses_the_bad_release_and_a_forced_one_passes(host: Any) -> None:
    started = inspect(host)["State"]["StartedAt"]
    refused = deploy("0.1.1")
    assert refused.rc != 0
    assert "Release 0.1.1 is marked bad on" in words(refused.stdout)
    assert "-e platform_deploy_force=true" in words(refused.stdout)
    assert inspect(host)["State"]["StartedAt"] == started

    # Forced, the preflight lets it through (the rest is any deploy's; the host stays on 0.1.0 afterwards).
    forced = playbook(
        "deploy.yml",
        {"platform_deploy_version": "0.1.1", "platform_deploy_force": True},
        tags=["platform_deploy_preflight"],
    )
    assert forced.rc == 0, forced.stdout[-4000:]
    assert inspect(host)["State"]["StartedAt"] == started
    assert "0.1.1" not in host.file("/var/lib/langchain-platform/bad-releases").content_string.split()
    assert host.file("/var/lib/langchain-platform/releases.log").contains(
        "forced deploy of bad release 0.1.1"
    )
