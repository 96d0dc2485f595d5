"""platformctl's pieces without a playbook run: the terminal progress line, -e parsing and masking."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from platformctl import extra_vars
from platformctl.playbook_run import RunResult
from platformctl.progress import Progress, summary
from platformctl.recap import HostStats


def event(kind: str, **data: object) -> dict[str, object]:
    return {"event": kind, "event_data": data}


def test_on_a_terminal_one_line_is_redrawn_and_failures_stay_above_it() -> None:
    out = io.StringIO()
    progress = Progress(out=out, tty=True, mask=lambda text: text.replace("hunter22", "***"))
    for item in (
        event("playbook_on_play_start", play="Deploy"),
        event("playbook_on_task_start", task="Pull the image"),
        event("runner_on_start", host="app1"),
        event("runner_on_start", host="app2"),
        event("runner_on_ok", host="app1", res={"changed": True}),
        event("runner_on_failed", host="app2", res={"msg": "no space left (hunter22)\nmore"}),
        event("playbook_on_stats"),
    ):
        progress(item)
    text = out.getvalue()
    assert "PLAY [Deploy]\n" in text
    # Cut to the terminal's width (80 columns when there is none, as here).
    assert "\r\x1b[K[##########----------] 1/2 hosts | task 1: Pull the image | ok 1, changed 1" in text
    assert "\r\x1b[K  FAILED: app2: Pull the image: no space left (***)\n" in text
    assert "\r\x1b[K[####################] 2/2 hosts" in text
    assert "hunter22" not in text
    assert text.endswith("\r\x1b[K"), "the status line is cleared before the summary"
    assert progress.hosts == {"app1", "app2"}


def test_the_summary_is_a_table_per_host_then_the_outcome() -> None:
    result = RunResult(
        rc=2,
        status="failed",
        stats={"app1": HostStats(ok=5, changed=2), "app22": HostStats(failed=1, unreachable=0, skipped=3)},
        seconds=12.34,
    )
    assert summary(result).splitlines() == [
        "host   ok  changed  failed  unreachable  skipped",
        "app1    5        2       0            0        0",
        "app22   0        0       1            0        3",
        "result: failed, rc 2, 12.3 s",
    ]


def test_extra_vars_in_every_form_keep_names_and_mask_secret_values(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yml"
    secrets_file.write_text("openai: sk-from-a-file-123\n")
    vault_file = tmp_path / "vault.yml"
    vault_file.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    parsed = extra_vars.parse(
        [
            "platform_deploy_version=0.1.1 ticket='OPS 7'",
            '{"db_password": "pw-abcdef", "serial": 2}',
            f"@{secrets_file}",
            f"@{vault_file}",
            "platform_window_override='hotfix for INC-42'",
        ]
    )
    assert parsed.values["ticket"] == "OPS 7"
    assert parsed.names == [
        "db_password",
        "openai",
        "platform_deploy_version",
        "platform_window_override",
        "serial",
        "ticket",
        f"@{vault_file}",
    ]
    assert parsed.cmdline() == ["-e", f"@{vault_file}"]
    masked = parsed.mask('pw-abcdef and sk-from-a-file-123 and 0.1.1 and "hotfix for INC-42"')
    assert masked == '******** and ******** and 0.1.1 and "hotfix for INC-42"'
    with pytest.raises(ValueError, match="name=value"):
        extra_vars.parse(["oops"])
