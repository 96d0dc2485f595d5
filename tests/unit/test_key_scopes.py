"""Key owners and scopes: the keys-file line format, API_KEYS entries, API_KEY, and what they grant."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_platform.auth import KeyStore
from langchain_platform.principals import (
    OPERATOR,
    InvalidKeyEntry,
    Principal,
    format_key_file_line,
    hash_key,
    parse_api_keys_entry,
    parse_key_file_line,
    read_key_file,
)
from langchain_platform.settings import ConfigError, Settings

AGENTS_ONLY = frozenset({"agents"})
BOTH = frozenset({"admin", "agents"})


def test_a_bare_digest_is_an_agents_key_named_after_its_digest() -> None:
    digest = hash_key("client")
    grant = parse_key_file_line(digest)
    assert grant.principal == Principal(f"key-{digest[:12]}", AGENTS_ONLY)


def test_a_full_line_carries_owner_and_scopes_in_any_order() -> None:
    digest = hash_key("ops")
    assert parse_key_file_line(f"{digest} owner=ops scopes=admin,agents").principal == Principal("ops", BOTH)
    assert parse_key_file_line(f"{digest.upper()}  scopes=admin   owner=ops").principal == Principal(
        "ops", frozenset({"admin"})
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("plain-text-key", "hash-key"),
        (f"{hash_key('x')} owner=", "owner"),
        (f"{hash_key('x')} owner=has:colon", "owner"),
        (f"{hash_key('x')} scopes=root", "scopes"),
        (f"{hash_key('x')} scopes=", "scopes"),
        (f"{hash_key('x')} role=admin", "unexpected"),
        (f"{hash_key('x')} owner=a owner=b", "once each"),
        (f"{hash_key('x')} admin", "unexpected"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: str, reason: str) -> None:
    with pytest.raises(InvalidKeyEntry, match=reason):
        parse_key_file_line(line)


def test_the_formatted_line_reads_back() -> None:
    principal = Principal("team-a", BOTH)
    line = format_key_file_line(hash_key("k"), principal)
    assert line == f"{hash_key('k')} owner=team-a scopes=admin,agents"
    assert parse_key_file_line(line).principal == principal


def test_bad_lines_of_a_file_are_reported_by_number_and_good_ones_kept(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(
        f"# keys\n{hash_key('a')} owner=alice scopes=agents\n"
        f"{hash_key('b')} scopes=wizard\n"
        f"{hash_key('a')} owner=again\n"
        f"{hash_key('c')} owner=ops scopes=admin,agents  # the operator\n"
    )
    grants, problems = read_key_file(keys)
    assert [g.principal.owner for g in grants] == ["alice", "ops"]
    assert len(problems) == 2
    assert "line 3 scopes 'wizard'" in problems[0]
    assert "line 4 repeats a digest" in problems[1]


def test_the_store_answers_with_the_keys_principal(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"{hash_key('file-admin')} owner=ops scopes=admin,agents\n{hash_key('file-client')}\n")
    store = KeyStore((parse_api_keys_entry("team-b:agents:env-client"),), keys)
    assert store.verify("file-admin") == Principal("ops", BOTH)
    assert store.verify("file-client") == Principal(f"key-{hash_key('file-client')[:12]}", AGENTS_ONLY)
    assert store.verify("env-client") == Principal("team-b", AGENTS_ONLY)
    assert store.verify("team-b:agents:env-client") is None


def test_api_keys_entries_and_the_operator_key() -> None:
    settings = Settings.from_env(
        {
            "DATA_DIR": "/tmp",
            "API_KEY": "operator-key",
            "API_KEYS": "bare-key, alice:agents:alice-key ,ops:admin+agents:ops:key:with:colons",
        }
    )
    granted = {k.key: k.principal for k in settings.api_keys}
    assert granted["operator-key"] == OPERATOR == Principal("default", BOTH)
    assert granted["bare-key"] == Principal(f"key-{hash_key('bare-key')[:12]}", AGENTS_ONLY)
    assert granted["alice-key"] == Principal("alice", AGENTS_ONLY)
    assert granted["ops:key:with:colons"] == Principal("ops", BOTH)


@pytest.mark.parametrize("entry", ["bob:superuser:s3cr3t-v", "bad name:agents:s3cr3t-v", "bob:agents:"])
def test_a_bad_api_keys_entry_is_a_config_error_without_the_key(entry: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"DATA_DIR": "/tmp", "API_KEYS": f"good-key,{entry}"})
    (message,) = error.value.messages
    assert "API_KEYS entry 2" in message
    assert "name:scope+scope:key" in message
    assert "s3cr3t" not in message
