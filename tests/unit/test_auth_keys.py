"""API keys: SHA-256 digests, several valid keys, keys-file reload, header parsing, exempt paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_platform.auth import KeyStore, hash_key, path_is_exempt, presented_key
from langchain_platform.principals import (
    ConfiguredKey,
    InvalidKeyEntry,
    parse_api_keys_entry,
    parse_key_file_line,
)

# sha256("secret"), as printed by `printf secret | sha256sum`
SECRET_DIGEST = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"


def env(*entries: str) -> tuple[ConfiguredKey, ...]:
    """Keys as API_KEYS gives them."""
    return tuple(parse_api_keys_entry(entry) for entry in entries)


def write_keys(path: Path, *keys: str, comment: str = "# keys") -> None:
    path.write_text("\n".join([comment, *(hash_key(k) for k in keys)]) + "\n")


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_hash_key_is_sha256_hex() -> None:
    assert hash_key("secret") == SECRET_DIGEST


def test_every_configured_key_is_valid_and_nothing_else() -> None:
    store = KeyStore(env("alpha", "beta"), None)
    assert store.verify("alpha")
    assert store.verify("beta")
    assert not store.verify("gamma")
    assert not store.verify("alph")
    assert not store.verify("")
    assert not store.verify(None)


def test_store_holds_digests_not_keys() -> None:
    store = KeyStore(env("plain-key-value"), None)
    assert "plain-key-value" not in repr(vars(store))


def test_keys_file_digests_are_valid(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    write_keys(keys, "from-file")
    store = KeyStore(env("from-env"), keys)
    assert store.verify("from-file")
    assert store.verify("from-env")
    assert store.digest_count == 2


def test_changed_keys_file_is_picked_up_without_restart(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    write_keys(keys, "old")
    store = KeyStore((), keys, recheck_seconds=0)
    assert store.verify("old")
    write_keys(keys, "new", comment="# rotated")
    bump_mtime(keys)
    assert store.verify("new")
    assert not store.verify("old")


def test_change_is_noticed_only_after_the_recheck_interval(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    write_keys(keys, "old")
    store = KeyStore((), keys, recheck_seconds=3600)
    assert store.verify("old")
    write_keys(keys, "new", comment="# rotated")
    assert not store.verify("new")  # still cached
    store.reload()  # what SIGHUP does
    assert store.verify("new")
    assert not store.verify("old")


def test_deleted_keys_file_revokes_its_keys_but_not_env_keys(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    write_keys(keys, "file-key")
    store = KeyStore(env("env-key"), keys, recheck_seconds=0)
    assert store.verify("file-key")
    keys.unlink()
    assert not store.verify("file-key")
    assert store.verify("env-key")


def test_bad_lines_are_skipped_and_good_ones_kept(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"not-a-digest\n{hash_key('good').upper()}  # upper case is fine\n")
    store = KeyStore((), keys)
    assert store.verify("good")
    assert not store.verify("not-a-digest")


def headers(*pairs: tuple[str, str]) -> dict[str, object]:
    return {"headers": [(n.lower().encode(), v.encode()) for n, v in pairs]}


def test_key_comes_from_x_api_key_or_bearer_token() -> None:
    assert presented_key(headers(("X-API-Key", "k1"))) == "k1"  # type: ignore[arg-type]
    assert presented_key(headers(("Authorization", "Bearer k2"))) == "k2"  # type: ignore[arg-type]
    assert presented_key(headers(("Authorization", "Basic Zm9vOmJhcg=="))) is None  # type: ignore[arg-type]
    assert presented_key(headers(("Authorization", "Bearer b"), ("X-API-Key", "x"))) == "x"  # type: ignore[arg-type]
    assert presented_key(headers()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "exempt"),
    [
        ("/health", True),
        ("/health/ready", True),
        ("/metrics", True),
        ("/schema/openapi.json", True),
        ("/healthz", False),
        ("/api/enterprise/agents", False),
        ("/", False),
    ],
)
def test_exempt_paths_cover_their_sub_paths_only(path: str, exempt: bool) -> None:
    assert path_is_exempt(path, ("/health", "/metrics", "/schema")) is exempt


def test_an_empty_x_api_key_falls_back_to_the_bearer_token() -> None:
    assert presented_key(headers(("X-API-Key", ""), ("Authorization", "Bearer k3"))) == "k3"  # type: ignore[arg-type]
    assert presented_key(headers(("X-API-Key", "  "), ("Authorization", "Bearer k3"))) == "k3"  # type: ignore[arg-type]
    assert not presented_key(headers(("X-API-Key", "")))  # type: ignore[arg-type]


class Clock:
    """A settable wall clock for KeyStore."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# 2026-12-01T05:00:00Z as seconds since the epoch.
EXPIRY = 1_796_101_200.0


def test_a_key_with_expires_is_valid_until_that_time_only(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(
        f"{hash_key('old')} owner=team scopes=agents expires=2026-12-01T05:00:00Z\n"
        f"{hash_key('new')} owner=team scopes=agents\n"
    )
    clock = Clock(EXPIRY - 1)
    store = KeyStore((), keys, clock=clock)
    assert store.verify("old") == store.verify("new")
    clock.now = EXPIRY
    assert store.verify("old") is None
    assert store.verify("new")


def test_expires_accepts_any_offset(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"{hash_key('k')} expires=2026-12-01T06:00:00+01:00\n")
    clock = Clock(EXPIRY - 0.5)
    store = KeyStore((), keys, clock=clock)
    assert store.verify("k")
    clock.now = EXPIRY + 0.5
    assert not store.verify("k")


@pytest.mark.parametrize("value", ["2026-12-01T05:00:00", "2026-12-01", "tomorrow", ""])
def test_an_expiry_without_offset_or_unreadable_skips_the_line(tmp_path: Path, value: str) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text(f"{hash_key('k')} expires={value}\n{hash_key('other')}\n")
    store = KeyStore((), keys)
    assert not store.verify("k")
    assert store.verify("other")


def test_parse_key_file_line_keeps_expiry_and_names_it_in_errors() -> None:
    grant = parse_key_file_line(f"{SECRET_DIGEST} owner=a scopes=admin expires=2026-12-01T05:00:00Z")
    assert grant.expires == EXPIRY
    assert grant.principal.owner == "a"
    assert parse_key_file_line(SECRET_DIGEST).expires is None
    with pytest.raises(InvalidKeyEntry, match="RFC 3339"):
        parse_key_file_line(f"{SECRET_DIGEST} expires=soon")
    with pytest.raises(InvalidKeyEntry, match="once each"):
        parse_key_file_line(f"{SECRET_DIGEST} expires=2026-12-01T05:00:00Z expires=2026-12-01T05:00:00Z")
