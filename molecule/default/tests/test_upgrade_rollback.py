"""Upgrade 0.1.0 -> 0.1.1 with playbooks/deploy.yml, a broken 0.1.2 build that must roll back, then
playbooks/rollback.yml (RB-002) back to 0.1.0: the release left marked bad and refused by a plain deploy.

The tests run in file order: each starts from the state the previous one left (the upgrade's deploys are
the rollback's too).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import api, deploy, inspect, playbook

from harness.playbook_runner import PlaybookResult

THREAD_INPUT = "remember this across the upgrade"


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


def words(output: str) -> str:
    """Ansible output without colours and line wraps, for comparing messages."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", output).split())


@pytest.fixture(scope="module")
def thread(host: Any, agent_name: str) -> str:
    """A conversation started on 0.1.0, before any upgrade."""
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": THREAD_INPUT})
    return str(answer["thread_id"])


def thread_texts(host: Any, agent_name: str, thread_id: str) -> list[str]:
    messages = api(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread_id}")["messages"]
    return [str(message["content"]) for message in messages]


def test_upgrade_keeps_the_release_tag_and_threads(host: Any, agent_name: str, thread: str) -> None:
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


def test_rollback_returns_to_the_previous_release_and_marks_the_left_one_bad(
    host: Any, agent_name: str, thread: str
) -> None:
    result = rollback()
    assert result.rc == 0, result.stdout[-4000:]
    assert "0.1.1 -> 0.1.0" in words(result.stdout)

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
