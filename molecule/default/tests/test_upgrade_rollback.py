"""Upgrade 0.1.0 -> 0.1.1 with playbooks/deploy.yml, then a broken 0.1.2 build that must roll back.

The tests run in file order: each starts from the state the previous one left.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import api, deploy, inspect

THREAD_INPUT = "remember this across the upgrade"


def image_id(host: Any, ref: str) -> str:
    return str(host.run(f"docker image inspect -f '{{{{.Id}}}}' {ref}").stdout.strip())


def backup_tags(host: Any, image: str) -> list[str]:
    listing = host.run("docker images langchain-platform --format '{{.Tag}} {{.ID}}'").stdout.split("\n")
    short = image.removeprefix("sha256:")[:12]
    pairs = (line.partition(" ") for line in listing)
    return [tag for tag, _, ident in pairs if tag.startswith("backup-") and ident == short]


@pytest.fixture(scope="module")
def thread(host: Any, agent_name: str) -> str:
    """A conversation started on 0.1.0, before any upgrade."""
    answer = api(host, "POST", f"/api/enterprise/agents/{agent_name}/invoke", {"input": THREAD_INPUT})
    return str(answer["thread_id"])


def thread_texts(host: Any, agent_name: str, thread_id: str) -> list[str]:
    messages = api(host, "GET", f"/api/enterprise/agents/{agent_name}/threads/{thread_id}")["messages"]
    return [str(message["content"]) for message in messages]


def test_upgrade_tags_a_backup_and_keeps_threads(host: Any, agent_name: str, thread: str) -> None:
    old_image = inspect(host)["Image"]
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)

    result = deploy("0.1.1")
    assert result.rc == 0, result.stdout[-4000:]

    container = inspect(host)
    assert container["Config"]["Image"] == "langchain-platform:0.1.1"
    assert container["Image"] == image_id(host, "langchain-platform:0.1.1")
    assert container["Config"]["Labels"]["org.opencontainers.image.version"] == "0.1.1"
    assert api(host, "GET", "/health")["status"] == "healthy"

    tags = backup_tags(host, old_image)
    assert tags, "no backup-YYYYMMDD-HHMMSS tag points at the image 0.1.0 ran"
    assert all(re.fullmatch(r"backup-\d{8}-\d{6}(-\d+)?", tag) for tag in tags)
    releases = host.file("/var/lib/langchain-platform/releases.log")
    assert releases.contains(f"backup langchain-platform:{tags[0]}")

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
    assert backup_tags(host, container["Image"]), "0.1.1 was not tagged as a backup before the broken rollout"
    assert host.file("/var/lib/langchain-platform/releases.log").contains("rollback langchain-platform")
    assert THREAD_INPUT in thread_texts(host, agent_name, thread)
