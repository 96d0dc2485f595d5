"""Routine checks for playbooks/report.yml: what the observations of a host mean against the runbook.

    {{ platform_deploy_report_replicas | platform_report_findings(host_observations, thresholds) }}
    {{ metrics_text | platform_metrics_summary }}
    {{ apt_get_simulation_text | platform_pending_updates }}
    {{ report | platform_report_markdown }}

The thresholds are the operations runbook's (System Monitoring, Key Metrics): /health status other than
"healthy" is critical, more than 3 container restarts in 5 minutes critical, memory above 80 % of the limit
a warning, error rate above 5 % a warning, mean response time above 30 s a warning, p99 above 60 s critical.
Error rate and latencies come from the service's own /metrics (the runbook reads them from LangSmith),
counted since the replica started, over the API routes only: probes and scrapes would dilute them.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

OK = "ok"
WARN = "warn"
CRITICAL = "critical"
SEVERITY_ORDER = {OK: 0, WARN: 1, CRITICAL: 2}

# Routes that are not client traffic (probes, scrapes).
_NOT_API = ("/health", "/metrics", "/ok")
# Label values may hold braces themselves (route="/api/enterprise/agents/{name}/invoke"): the label set
# runs to the last brace before the value.
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_DOCKER_SIZE = re.compile(r"^\s*([0-9.]+)\s*([kKMGTP]?i?B)\s*$")
_DOCKER_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in str(text or "").splitlines():
        match = _SAMPLE.match(line.strip())
        if not match or line.startswith("#"):
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        samples.append((match["name"], labels, value))
    return samples


def _is_api(labels: dict[str, str]) -> bool:
    route = labels.get("route", "")
    return not any(route == prefix or route.startswith(prefix + "/") for prefix in _NOT_API)


def histogram_quantile(quantile: float, buckets: dict[float, float]) -> float | None:
    """Prometheus's histogram_quantile over cumulative buckets {upper bound: count}: linear within the bucket
    the rank falls in; in the +Inf bucket, the highest finite bound (all that is known)."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = quantile * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def platform_metrics_summary(text: str) -> dict[str, Any]:
    """Requests, 5xx errors, error rate, mean and p99 latency (seconds) of the API routes in /metrics text."""
    requests = errors = 0.0
    duration_sum = duration_count = 0.0
    buckets: dict[float, float] = defaultdict(float)
    for name, labels, value in _samples(text):
        if not _is_api(labels):
            continue
        if name == "http_requests_total":
            requests += value
            if labels.get("status", "").startswith("5"):
                errors += value
        elif name == "http_request_duration_seconds_bucket":
            buckets[float(labels.get("le", "+Inf"))] += value
        elif name == "http_request_duration_seconds_sum":
            duration_sum += value
        elif name == "http_request_duration_seconds_count":
            duration_count += value
    return {
        "requests": int(requests),
        "errors": int(errors),
        "error_rate": errors / requests if requests else None,
        "mean_seconds": duration_sum / duration_count if duration_count else None,
        "p99_seconds": histogram_quantile(0.99, buckets),
    }


def docker_bytes(text: str) -> int | None:
    """'512.3MiB' (docker stats) in bytes; None when docker could not tell."""
    match = _DOCKER_SIZE.match(str(text or ""))
    if not match or match[2] not in _DOCKER_UNITS:
        return None
    return int(float(match[1]) * _DOCKER_UNITS[match[2]])


# `apt-get -s dist-upgrade` prints one line per upgrade:
#   Inst <package> [<installed>] (<candidate> <origin>:<suite> [<arch>])
_APT_INST = re.compile(r"^Inst (?P<package>\S+)(?: \[[^]]*\])? \((?P<candidate>.*)\)")


def platform_pending_updates(apt_simulation: str) -> dict[str, Any]:
    """The package upgrades an `apt-get -s dist-upgrade` would install, and which of them come from a
    security suite (the origin names "-security", as Debian's and Ubuntu's do)."""
    packages, security = [], []
    for line in str(apt_simulation or "").splitlines():
        match = _APT_INST.match(line.strip())
        if not match:
            continue
        packages.append(match["package"])
        if "-security" in match["candidate"].lower():
            security.append(match["package"])
    return {"total": len(packages), "security": sorted(security), "packages": sorted(packages)}


def _finding(host: str, subject: str, check: str, severity: str, message: str) -> dict[str, str]:
    return {"host": host, "subject": subject, "check": check, "severity": severity, "message": message}


def _replica_findings(host: str, replica: dict[str, Any], limits: dict[str, Any]) -> list[dict[str, str]]:
    name = str(replica.get("name", "?"))

    def found(check: str, severity: str, message: str) -> dict[str, str]:
        return _finding(host, name, check, severity, message)

    if not replica.get("running"):
        state = replica.get("state") or "missing"
        return [found("container", CRITICAL, f"the container is {state}, not running")]
    findings = []
    health = replica.get("health") or {}
    status = health.get("status")
    reasons = "; ".join(health.get("reasons") or [])
    expected = limits.get("version")
    version = health.get("version")
    if status == "healthy":
        found_health = found("health", OK, f"healthy, version {version}")
    elif status is None:
        found_health = found("health", CRITICAL, "/health did not answer")
    else:
        found_health = found(
            "health", CRITICAL, f"/health says {status}" + (f": {reasons}" if reasons else "")
        )
    findings.append(found_health)
    if expected and version and version != expected:
        findings.append(found("version", WARN, f"runs {version}, the inventory's release is {expected}"))

    restarts = int(replica.get("restarts_recent") or 0)
    most, window = int(limits["restarts_max"]), limits["restarts_window"]
    total = replica.get("restart_count", 0)
    if restarts > most:
        findings.append(found("restarts", CRITICAL, f"{restarts} restarts in {window} (more than {most})"))
    else:
        findings.append(
            found("restarts", OK, f"{restarts} restarts in {window}, {total} by the restart policy")
        )

    usage, limit = docker_bytes(replica.get("memory_usage", "")), int(replica.get("memory_limit") or 0)
    if usage is None or not limit:
        findings.append(found("memory", WARN, "memory use or limit unknown (docker stats answered nothing)"))
    else:
        percent = 100.0 * usage / limit
        severity = WARN if percent > float(limits["memory_warn_percent"]) else OK
        findings.append(found("memory", severity, f"{percent:.0f} % of the {limit // 2**20} MiB limit"))

    metrics = platform_metrics_summary(replica.get("metrics", ""))
    rate, p99, mean = metrics["error_rate"], metrics["p99_seconds"], metrics["mean_seconds"]
    if rate is not None and rate * 100 > float(limits["error_rate_warn_percent"]):
        findings.append(
            found("errors", WARN, f"{rate:.1%} of {metrics['requests']} API requests failed (5xx)")
        )
    else:
        findings.append(
            found("errors", OK, f"{metrics['errors']} of {metrics['requests']} API requests failed")
        )
    if p99 is not None and p99 > float(limits["p99_critical_seconds"]):
        findings.append(
            found("latency", CRITICAL, f"p99 {p99:.1f} s (above {limits['p99_critical_seconds']} s)")
        )
    elif mean is not None and mean > float(limits["response_warn_seconds"]):
        findings.append(
            found("latency", WARN, f"mean {mean:.1f} s (above {limits['response_warn_seconds']} s)")
        )
    else:
        shown = "no API requests yet" if p99 is None else f"p99 {p99:.2f} s"
        findings.append(found("latency", OK, shown))

    error_lines = [line for line in replica.get("log_errors") or [] if line.strip()]
    if error_lines:
        last = error_lines[-1][:200]
        message = (
            f"{len(error_lines)} error lines in the logs of the last {limits['log_since']}, last: {last}"
        )
        findings.append(found("logs", WARN, message))
    else:
        findings.append(found("logs", OK, f"no error lines in the last {limits['log_since']}"))
    return findings


def _host_findings(host: str, observed: dict[str, Any], limits: dict[str, Any]) -> list[dict[str, str]]:
    findings = []
    age = observed.get("backup_age_hours")
    most = float(limits["backup_max_age_hours"])
    where = observed.get("backup_dir", "")
    if age is None:
        findings.append(_finding(host, "backup", "backup", WARN, f"no backup set in {where}"))
    elif float(age) > most:
        findings.append(
            _finding(host, "backup", "backup", WARN, f"newest set is {age:.0f} h old (over {most:g} h)")
        )
    else:
        findings.append(_finding(host, "backup", "backup", OK, f"newest set is {age:.1f} h old"))
    if "updates" in observed:
        findings.append(_updates_finding(host, observed["updates"]))
    for path, percent in sorted((observed.get("disk_use_percent") or {}).items()):
        if percent is None:
            continue
        severity = (
            CRITICAL
            if percent > float(limits["disk_critical_percent"])
            else WARN
            if percent > float(limits["disk_warn_percent"])
            else OK
        )
        findings.append(
            _finding(host, path, "disk", severity, f"file system mounted at {path} {percent} % full")
        )
    return findings


def _updates_finding(host: str, updates: dict[str, Any]) -> dict[str, str]:
    """The weekly review's "check for pending updates": security upgrades warn, others are listed as ok.
    `updates` is platform_pending_updates' result plus `lists_age_days` (None when apt has no lists)."""
    age = updates.get("lists_age_days")
    if updates.get("error"):
        return _finding(host, "packages", "updates", WARN, f"apt could not tell: {updates['error'][:200]}")
    if age is None:
        return _finding(host, "packages", "updates", WARN, "apt has no package lists: run apt-get update")
    since = f"package lists {float(age):.0f} days old"
    security = updates.get("security") or []
    if security:
        shown = ", ".join(security[:10]) + (", ..." if len(security) > 10 else "")
        message = (
            f"{len(security)} security upgrades pending ({shown}); {updates.get('total', 0)} in all; {since}"
        )
        return _finding(host, "packages", "updates", WARN, message)
    return _finding(
        host,
        "packages",
        "updates",
        OK,
        f"{updates.get('total', 0)} upgrades pending, none for security; {since}",
    )


def platform_report_findings(
    replicas: list[dict[str, Any]], host: str, observed: dict[str, Any], limits: dict[str, Any]
) -> list[dict[str, str]]:
    """Findings of one host: each replica's checks, then its backups and disks, each ok, warn or critical."""
    findings = [f for replica in replicas for f in _replica_findings(host, replica, limits)]
    return findings + _host_findings(host, observed, limits)


def platform_report_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: a summary line, then a table of findings per host (worst first)."""
    counts = report.get("summary") or {}
    lines = [
        f"# langchain-platform report {report.get('generated', '')}",
        "",
        f"{counts.get(CRITICAL, 0)} critical, {counts.get(WARN, 0)} warn, {counts.get(OK, 0)} ok.",
    ]
    by_host: dict[str, list[dict[str, str]]] = defaultdict(list)
    for finding in report.get("findings") or []:
        by_host[finding["host"]].append(finding)
    for host in sorted(by_host):
        lines += [
            "",
            f"## {host}",
            "",
            "| severity | subject | check | finding |",
            "| --- | --- | --- | --- |",
        ]
        ordered = sorted(by_host[host], key=lambda f: -SEVERITY_ORDER.get(f["severity"], 0))
        for finding in ordered:
            message = finding["message"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {finding['severity']} | {finding['subject']} | {finding['check']} | {message} |")
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "platform_metrics_summary": platform_metrics_summary,
            "platform_pending_updates": platform_pending_updates,
            "platform_report_findings": platform_report_findings,
            "platform_report_markdown": platform_report_markdown,
        }
