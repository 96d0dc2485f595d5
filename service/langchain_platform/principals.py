"""Who a key speaks for: an owner name and scopes, as written in ``API_KEYS`` and in the keys file.

- Scopes: ``admin`` (``/api/admin/*``, and every owner's threads and runs) and ``agents`` (agents,
  chains, threads, webhook runs).
- Keys file: one key a line, ``<sha256 hex> owner=<name> scopes=admin,agents expires=<RFC 3339>``;
  ``owner=``, ``scopes=`` and ``expires=`` are optional. A bare digest is owner ``key-<first 12 hex of
  the digest>`` with scope ``agents``, so a keys file from before scopes existed grants no admin rights
  by accident. ``expires=`` (e.g. ``2026-12-01T05:00:00Z``) ends a key's validity by itself: a key
  rotation's grace window closes even when nobody removes the old line.
- ``API_KEYS``: comma separated entries ``<name>:<scope>+<scope>:<key>`` or a bare key (a bare key
  gets the same defaults as a bare digest; a key holding ``:`` must use the full form).
- ``API_KEY``, the runbook's single operator key: owner ``default``, scopes ``admin,agents``.

Nothing here imports a framework: the state store keeps owners, the HTTP layer checks scopes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ADMIN = "admin"
AGENTS = "agents"
SCOPES = (ADMIN, AGENTS)
OPERATOR_OWNER = "default"
DEFAULT_SCOPES = frozenset({AGENTS})
# No ':' in a key's owner: owners with a ':' are the service's own (see WEBHOOK_OWNER).
OWNER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
# Threads and runs that webhook events start: no key can have this owner, so only admin keys see them.
WEBHOOK_OWNER = "webhooks:"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for a key in ``API_KEYS_FILE``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def default_owner(digest: str) -> str:
    return f"key-{digest[:12]}"


@dataclass(frozen=True)
class Principal:
    """The owner a request acts for and what it may do."""

    owner: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def sees_every_owner(self) -> bool:
        return ADMIN in self.scopes

    def may_use(self, thread_owner: str | None) -> bool:
        """True for its own threads and runs, unowned ones (from before owners existed), or any with admin."""
        return thread_owner is None or thread_owner == self.owner or self.sees_every_owner


# API_KEY's holder; also every caller when API_KEY_ENABLED=false.
OPERATOR = Principal(OPERATOR_OWNER, frozenset(SCOPES))


@dataclass(frozen=True)
class ConfiguredKey:
    """A key from the environment with what it grants."""

    key: str = field(repr=False)
    principal: Principal


@dataclass(frozen=True)
class KeyGrant:
    """A digest from the keys file (or of a configured key) with what it grants, until ``expires``
    (seconds since the epoch; None: for ever)."""

    digest: str
    principal: Principal
    expires: float | None = None

    def valid_at(self, now: float) -> bool:
        return self.expires is None or now < self.expires


class InvalidKeyEntry(ValueError):
    """An ``API_KEYS`` entry or keys-file line that cannot be used; the message never holds the key."""


def parse_scopes(text: str, separator: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(separator) if s.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown or not scopes:
        raise InvalidKeyEntry(
            f"scopes {text!r} must be one or more of {', '.join(SCOPES)} separated by {separator!r}"
        )
    return scopes


def check_owner(name: str) -> str:
    if not OWNER_PATTERN.match(name):
        raise InvalidKeyEntry(
            f"owner {name!r} must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    return name


def parse_api_keys_entry(entry: str) -> ConfiguredKey:
    """One ``API_KEYS`` entry: ``name:scope+scope:key`` or a bare key."""
    if entry.count(":") < 2:
        return ConfiguredKey(entry, Principal(default_owner(hash_key(entry)), DEFAULT_SCOPES))
    owner, scopes, key = entry.split(":", 2)
    if not key:
        raise InvalidKeyEntry("the key after name:scopes: is empty")
    return ConfiguredKey(key, Principal(check_owner(owner), parse_scopes(scopes, "+")))


def parse_expiry(text: str) -> float:
    """An RFC 3339 time with its offset (``2026-12-01T05:00:00Z``) as seconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    # A time without an offset would depend on the host's time zone: refused.
    if moment is None or moment.tzinfo is None:
        raise InvalidKeyEntry(
            f"expires {text!r} must be an RFC 3339 time with offset, e.g. 2026-12-01T05:00:00Z"
        )
    return moment.timestamp()


def parse_key_file_line(line: str) -> KeyGrant:
    """A non-empty keys-file line without its comment: ``<digest> [owner=N] [scopes=a,b] [expires=T]``."""
    digest, *options = line.split()
    digest = digest.lower()
    if not _SHA256_HEX.match(digest):
        raise InvalidKeyEntry(
            "does not start with a SHA-256 hex digest: write the output of `langchain-platform hash-key`, "
            "never the key itself"
        )
    owner, scopes, expires = default_owner(digest), DEFAULT_SCOPES, None
    seen: set[str] = set()
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or name not in ("owner", "scopes", "expires") or name in seen:
            raise InvalidKeyEntry(
                f"unexpected {option!r}: write owner=NAME, scopes=admin,agents and expires=TIME once each"
            )
        seen.add(name)
        if name == "owner":
            owner = check_owner(value)
        elif name == "scopes":
            scopes = parse_scopes(value, ",")
        else:
            expires = parse_expiry(value)
    return KeyGrant(digest, Principal(owner, scopes), expires)


def format_key_file_line(digest: str, principal: Principal) -> str:
    scopes = ",".join(s for s in SCOPES if s in principal.scopes)
    return f"{digest} owner={principal.owner} scopes={scopes}"


def read_key_file(path: Path) -> tuple[list[KeyGrant], list[str]]:
    """Parse an API keys file (``#`` comments and blank lines ignored); returns (grants, problems).

    A problem names the file and line so the operator can fix it; a digest listed twice keeps its
    first line.
    """
    grants: list[KeyGrant] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            grant = parse_key_file_line(line)
        except InvalidKeyEntry as exc:
            problems.append(f"API_KEYS_FILE {path} line {number} {exc}")
            continue
        if grant.digest in seen:
            problems.append(f"API_KEYS_FILE {path} line {number} repeats a digest listed earlier: remove one")
            continue
        seen.add(grant.digest)
        grants.append(grant)
    return grants, problems
