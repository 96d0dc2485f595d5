"""playbooks/report.yml's judgement: /metrics parsing, p99 from histogram buckets, findings against the
runbook's thresholds, the Markdown rendering (plugins/filter/platform_report.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "filter" / "platform_report.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("platform_report", PLUGIN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load()

LIMITS: dict[str, Any] = {
    "version": "0.1.0",
    "restarts_max": 3,
    "restarts_window": "5m",
    "memory_warn_percent": 80,
    "error_rate_warn_percent": 5,
    "response_warn_seconds": 30,
    "p99_critical_seconds": 60,
    "log_since": "5m",
    "backup_max_age_hours": 26,
    "disk_warn_percent": 80,
    "disk_critical_percent": 90,
}

# 100 API requests: 98 under 0.5 s, 2 between 0.5 and 1 s, 3 of them 5xx; the probes' own requests and
# failures do not count.
METRICS = """\
# HELP http_requests_total Requests
# TYPE http_requests_total counter
http_requests_total{method="POST",route="/api/agents/{name}/invoke",status="200"} 97.0
http_requests_total{method="POST",route="/api/agents/{name}/invoke",status="502"} 3.0
http_requests_total{method="GET",route="/health/ready",status="503"} 50.0
http_requests_total{method="GET",route="/metrics",status="200"} 7.0
http_request_duration_seconds_bucket{le="0.5",method="POST",route="/api/agents/{name}/invoke"} 98.0
http_request_duration_seconds_bucket{le="1.0",method="POST",route="/api/agents/{name}/invoke"} 100.0
http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/agents/{name}/invoke"} 100.0
http_request_duration_seconds_count{method="POST",route="/api/agents/{name}/invoke"} 100.0
http_request_duration_seconds_sum{method="POST",route="/api/agents/{name}/invoke"} 20.0
http_request_duration_seconds_bucket{le="0.5",method="GET",route="/health/ready"} 0.0
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/health/ready"} 50.0
"""


def healthy_replica(**changes: Any) -> dict[str, Any]:
    replica: dict[str, Any] = {
        "name": "langchain-platform",
        "port": 8000,
        "state": "running",
        "running": True,
        "restart_count": 0,
        "restarts_recent": 0,
        "memory_usage": "300MiB",
        "memory_limit": 768 * 2**20,
        "health": {"status": "healthy", "version": "0.1.0", "reasons": []},
        "metrics": "",
        "log_errors": [],
    }
    replica.update(changes)
    return replica


def findings(replica: dict[str, Any], **observed: Any) -> dict[str, dict[str, str]]:
    """The findings of one replica and a host with a fresh backup, by check."""
    host = {"backup_dir": "/var/backups/langchain-platform", "backup_age_hours": 2.0, "disk_use_percent": {}}
    host.update(observed)
    found = report.platform_report_findings([replica], "app1", host, LIMITS)
    return {finding["check"]: finding for finding in found}


def severities(found: dict[str, dict[str, str]]) -> dict[str, str]:
    return {check: finding["severity"] for check, finding in found.items()}


def test_p99_interpolates_inside_the_bucket_the_rank_falls_in() -> None:
    # rank 99 of 100 falls in (0.5, 1.0], which holds ranks 99 and 100: halfway.
    assert report.histogram_quantile(0.99, {0.5: 98.0, 1.0: 100.0, float("inf"): 100.0}) == pytest.approx(
        0.75
    )
    # Beyond the last finite bound only that bound is known.
    assert report.histogram_quantile(0.99, {0.5: 10.0, float("inf"): 100.0}) == 0.5
    assert report.histogram_quantile(0.99, {float("inf"): 0.0}) is None


def test_metrics_summary_counts_api_routes_only() -> None:
    summary = report.platform_metrics_summary(METRICS)
    assert summary["requests"] == 100
    assert summary["errors"] == 3
    assert summary["error_rate"] == pytest.approx(0.03)
    assert summary["mean_seconds"] == pytest.approx(0.2)
    assert summary["p99_seconds"] == pytest.approx(0.75)


def test_metrics_summary_of_a_replica_without_traffic() -> None:
    summary = report.platform_metrics_summary("")
    assert summary == {
        "requests": 0,
        "errors": 0,
        "error_rate": None,
        "mean_seconds": None,
        "p99_seconds": None,
    }


def test_a_healthy_replica_with_a_fresh_backup_is_all_ok() -> None:
    found = findings(healthy_replica(metrics=METRICS), disk_use_percent={"/var/lib/docker": 40})
    assert set(severities(found).values()) == {"ok"}
    assert set(found) == {"health", "restarts", "memory", "errors", "latency", "logs", "backup", "disk"}


def test_more_than_three_restarts_in_the_window_is_critical() -> None:
    assert findings(healthy_replica(restarts_recent=3))["restarts"]["severity"] == "ok"
    found = findings(healthy_replica(restarts_recent=4))["restarts"]
    assert found["severity"] == "critical"
    assert "4 restarts in 5m" in found["message"]


def test_memory_above_eighty_percent_of_the_limit_warns() -> None:
    assert findings(healthy_replica(memory_usage="614MiB"))["memory"]["severity"] == "ok"
    assert findings(healthy_replica(memory_usage="620MiB"))["memory"]["severity"] == "warn"
    assert findings(healthy_replica(memory_usage="0.7GiB"))["memory"]["severity"] == "warn"
    assert findings(healthy_replica(memory_usage=""))["memory"]["severity"] == "warn"


def test_health_other_than_healthy_is_critical_with_its_reasons() -> None:
    degraded = {"status": "degraded", "version": "0.1.0", "reasons": ["no LLM key"]}
    found = findings(healthy_replica(health=degraded))["health"]
    assert found["severity"] == "critical"
    assert "degraded: no LLM key" in found["message"]
    assert findings(healthy_replica(health={}))["health"]["severity"] == "critical"


def test_another_version_than_the_inventory_release_warns() -> None:
    other = {"status": "healthy", "version": "0.1.1", "reasons": []}
    assert findings(healthy_replica(health=other))["version"]["severity"] == "warn"


def test_a_stopped_replica_is_critical_and_nothing_else_is_judged() -> None:
    found = report.platform_report_findings(
        [healthy_replica(running=False, state="exited")],
        "app1",
        {"backup_age_hours": 1.0},
        LIMITS,
    )
    assert [(f["check"], f["severity"]) for f in found] == [("container", "critical"), ("backup", "ok")]
    assert "exited" in found[0]["message"]


def test_error_rate_and_latency_thresholds() -> None:
    failing = METRICS.replace('status="502"} 3.0', 'status="502"} 6.0')
    assert findings(healthy_replica(metrics=failing))["errors"]["severity"] == "warn"
    slow = METRICS.replace('le="1.0"', 'le="120.0"').replace("_sum{", "_ignored{")
    assert findings(healthy_replica(metrics=slow))["latency"]["severity"] == "critical"
    mean_slow = METRICS.replace("} 20.0", "} 3100.0")
    assert findings(healthy_replica(metrics=mean_slow))["latency"]["severity"] == "warn"


def test_error_log_lines_warn_with_the_last_one() -> None:
    lines = ['{"event": "boom", "level": "error"}', '{"event": "bang", "level": "error"}']
    found = findings(healthy_replica(log_errors=lines))["logs"]
    assert found["severity"] == "warn"
    assert found["message"].startswith("2 error lines")
    assert "bang" in found["message"]


def test_backup_missing_or_old_warns_and_full_disks_escalate() -> None:
    assert findings(healthy_replica(), backup_age_hours=None)["backup"]["severity"] == "warn"
    assert findings(healthy_replica(), backup_age_hours=30.0)["backup"]["severity"] == "warn"
    disks = {"/var/lib/docker": 85, "/var/backups/langchain-platform": 95}
    found = report.platform_report_findings(
        [], "app1", {"backup_age_hours": 1.0, "disk_use_percent": disks}, LIMITS
    )
    assert {f["subject"]: f["severity"] for f in found if f["check"] == "disk"} == {
        "/var/lib/docker": "warn",
        "/var/backups/langchain-platform": "critical",
    }


def test_markdown_lists_each_host_worst_first() -> None:
    found = findings(healthy_replica(restarts_recent=5, log_errors=["a | b"]))
    text = report.platform_report_markdown(
        {
            "generated": "20261201T000000Z",
            "summary": {"ok": 6, "warn": 1, "critical": 1},
            "findings": list(found.values()),
        }
    )
    assert text.startswith("# langchain-platform report 20261201T000000Z\n")
    assert "1 critical, 1 warn, 6 ok." in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].startswith("| critical | langchain-platform | restarts |")
    assert rows[1].startswith("| warn | langchain-platform | logs |")
    assert "a \\| b" in rows[1]


# `apt-get -s dist-upgrade` on Debian 12, trimmed: a security upgrade, a point-release one, a removal, noise.
APT_SIMULATION = """\
Reading package lists...
Building dependency tree...
The following packages will be upgraded:
  libssl3 tzdata
Inst libssl3 [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])
Remv old-thing [1.0]
Conf libssl3 (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Conf tzdata (2025b-0+deb12u1 Debian:12.11/stable [all])
"""


def test_pending_updates_count_upgrades_and_name_the_security_ones() -> None:
    assert report.platform_pending_updates(APT_SIMULATION) == {
        "total": 2,
        "security": ["libssl3"],
        "packages": ["libssl3", "tzdata"],
    }
    assert report.platform_pending_updates("0 upgraded, 0 newly installed.\n")["total"] == 0


@pytest.mark.parametrize(
    ("updates", "severity", "words"),
    [
        (
            {"total": 2, "security": ["libssl3"], "lists_age_days": 3.0},
            "warn",
            "1 security upgrades pending (libssl3)",
        ),
        ({"total": 1, "security": [], "lists_age_days": 3.0}, "ok", "1 upgrades pending, none for security"),
        ({"total": 0, "security": [], "lists_age_days": None}, "warn", "no package lists"),
        (
            {"total": 0, "security": [], "lists_age_days": 1.0, "error": "E: oops"},
            "warn",
            "apt could not tell: E: oops",
        ),
    ],
)
def test_the_weekly_updates_finding(updates: dict[str, Any], severity: str, words: str) -> None:
    found = report.platform_report_findings([], "app1", {"backup_age_hours": 1.0, "updates": updates}, LIMITS)
    [finding] = [f for f in found if f["check"] == "updates"]
    assert finding["severity"] == severity
    assert words in finding["message"]


def test_without_the_weekly_option_there_is_no_updates_finding() -> None:
    found = report.platform_report_findings([], "app1", {"backup_age_hours": 1.0}, LIMITS)
    assert "updates" not in {f["check"] for f in found}
