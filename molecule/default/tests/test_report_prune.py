"""Routine checks (playbooks/report.yml) and the image prune (playbooks/prune.yml) on the converged host.

The host is left as it was found: the container healthy, every image the later tests (test_upgrade_rollback)
use still there; only an image this module loads is pruned.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from conftest import BASE_URL, CONTAINER, playbook

REPOSITORY = "langchain-platform"
OLD_TAG = f"{REPOSITORY}:0.0.1-prune-test"


def report_files(folder: Path) -> tuple[dict[str, Any], str]:
    """The one JSON report and its Markdown twin written into `folder` (checked private)."""
    [json_file] = sorted(folder.glob("report-*.json"))
    markdown_file = json_file.with_suffix(".md")
    assert folder.stat().st_mode & 0o777 == 0o700
    for written in (json_file, markdown_file):
        assert written.stat().st_mode & 0o777 == 0o600, written
    return json.loads(json_file.read_text()), markdown_file.read_text()


def test_report_flags_four_restarts_in_five_minutes_and_nothing_else(host: Any, tmp_path: Path) -> None:
    """On the converged host everything is ok (a missing backup set may warn) but the runbook's "more than
    3 restarts in 5 min", made here: critical, so the play fails. One run, in --check: it judges the same."""
    restarts = host.run(f"for _ in 1 2 3 4; do docker restart -t 1 {CONTAINER} || exit 1; done")
    assert restarts.rc == 0, restarts.stderr
    ready = host.run(f"curl -sf --retry 60 --retry-delay 1 --retry-all-errors {BASE_URL}/health/ready")
    assert ready.rc == 0, ready.stderr

    folder = tmp_path / "reports"
    # With the weekly review's pending-updates check (the host's apt lists may be old or absent: it may warn).
    options = {"platform_report_dir": str(folder), "platform_report_updates": True}
    result = playbook("report.yml", options, check=True, timeout=300)
    assert result.rc != 0, "a critical finding must fail the play"
    assert not result.changed_hosts, "the report changed something"
    # At least these 4: earlier tests may have restarted it within the 5 minutes too.
    assert "restarts in 5m (more than 3)" in " ".join(result.stdout.split())
    report, markdown = report_files(folder)
    judged = {(finding["check"], finding["severity"]) for finding in report["findings"]}
    assert {check for check, severity in judged if severity == "critical"} == {"restarts"}
    assert {check for check, severity in judged if severity == "warn"} <= {"backup", "updates"}, report[
        "findings"
    ]
    for check in ("health", "memory", "errors", "latency", "logs", "disk"):
        assert (check, "ok") in judged, f"no ok finding for {check}"
    [updates] = [finding for finding in report["findings"] if finding["check"] == "updates"]
    assert "upgrades pending" in updates["message"] or "no package lists" in updates["message"], updates
    assert "| critical | langchain-platform | restarts |" in markdown
    assert "| ok | langchain-platform | health | healthy, version" in markdown


def old_image_archive() -> bytes:
    """A one-file image built in 2020 (older than every release), in `docker save` layout."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("prune-test"), io.BytesIO(b""))
    layer_bytes = layer.getvalue()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2020-01-01T00:00:00Z",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer_bytes).hexdigest()}"]},
        }
    ).encode()
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [OLD_TAG], "Layers": ["layer/layer.tar"]}]
    ).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (
            ("layer/layer.tar", layer_bytes),
            (config_name, config),
            ("manifest.json", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


def repository_tags(host: Any) -> set[str]:
    listing = host.run(f"docker images {REPOSITORY} --format '{{{{.Repository}}}}:{{{{.Tag}}}}'").stdout
    return set(listing.split())


def test_prune_keeps_the_running_and_newest_images(host: Any) -> None:
    encoded = base64.b64encode(old_image_archive()).decode()
    assert host.run(f"echo {encoded} | base64 -d | docker load").rc == 0
    before = repository_tags(host)
    assert OLD_TAG in before
    running = host.run(f"docker inspect -f '{{{{.Image}}}}' {CONTAINER}").stdout.strip()
    ids = host.run(f"docker images {REPOSITORY} --no-trunc --format '{{{{.ID}}}}'").stdout.split()
    # Keep every image but the old one: what the later tests deploy and roll back to stays.
    keep = len(set(ids) - {running}) - 1

    preview = playbook("prune.yml", {"platform_prune_keep": keep}, check=True, timeout=300)
    assert preview.rc == 0, preview.stdout[-4000:]
    assert preview.changed_hosts, "--check must show the image it would remove"
    assert repository_tags(host) == before, "--check removed an image"

    result = playbook("prune.yml", {"platform_prune_keep": keep}, timeout=300)
    assert result.rc == 0, result.stdout[-4000:]
    assert repository_tags(host) == before - {OLD_TAG}
    assert host.run(f"docker image inspect {running}").rc == 0, "the running image was removed"
