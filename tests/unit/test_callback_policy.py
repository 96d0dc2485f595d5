"""Where webhook callbacks may go, and how they are signed."""

from __future__ import annotations

import socket

import pytest
from langchain_platform.webhooks.callback_policy import CallbackPolicy
from langchain_platform.webhooks.errors import CallbackRefused
from langchain_platform.webhooks.signatures import legacy_sign as sign
from langchain_platform.webhooks.signatures import legacy_signature_valid as signature_valid


def resolver_for(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolver answering from `table`; unknown names fail like getaddrinfo does."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


DNS = resolver_for(
    {
        "hooks.example.com": ["93.184.216.34"],
        "dual.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
        "rebind.example.com": ["93.184.216.34", "10.0.0.5"],
        "internal.corp": ["10.20.30.40"],
        "metadata.corp": ["169.254.169.254"],
        "empty.example.com": [],
    }
)


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/cb", "http://dual.example.com:8443/x", "https://93.184.216.34/"]
)
async def test_public_destinations_are_allowed(url: str) -> None:
    await CallbackPolicy.from_allowlist([]).check(url, resolver=DNS)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/api/admin/maintenance", "non-public address 127.0.0.1"),
        ("http://10.1.2.3/", "non-public address 10.1.2.3"),
        ("http://192.168.1.10/", "non-public address 192.168.1.10"),
        ("http://172.17.0.2:5432/", "non-public address 172.17.0.2"),
        ("http://169.254.169.254/latest/meta-data/", "non-public address 169.254.169.254"),
        ("http://metadata.corp/", "non-public address 169.254.169.254"),
        ("http://0.0.0.0:8000/", "non-public address 0.0.0.0"),
        ("http://[::1]:8000/", "non-public address ::1"),
        ("http://[fe80::1]/", "non-public address fe80::1"),
        ("http://[fd00::1]/", "non-public address fd00::1"),
        ("http://[::ffff:127.0.0.1]/", "non-public address ::ffff:7f00:1"),
        ("http://224.0.0.1/", "non-public address 224.0.0.1"),
        ("http://rebind.example.com/", "non-public address 10.0.0.5"),
        ("http://nowhere.invalid/", "does not resolve"),
        ("http://empty.example.com/", "does not resolve"),
        ("ftp://hooks.example.com/", "must be an absolute http(s) URL"),
        ("/relative/path", "must be an absolute http(s) URL"),
        ("http://hooks.example.com:99999/", "invalid port"),
    ],
)
async def test_internal_or_unresolvable_destinations_are_refused(url: str, reason: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        await CallbackPolicy.from_allowlist([]).check(url, resolver=DNS)
    assert reason in str(refused.value)
    if "non-public" in reason:
        assert "WEBHOOK_CALLBACK_ALLOWLIST" in str(refused.value)


async def test_allowlist_accepts_named_hosts_networks_and_addresses() -> None:
    policy = CallbackPolicy.from_allowlist(["Internal.Corp", "192.168.0.0/16", "127.0.0.1", " "])

    await policy.check("http://internal.corp/hook", resolver=DNS)  # by name, whatever it resolves to
    await policy.check("http://192.168.44.3:9000/hook", resolver=DNS)
    await policy.check("http://127.0.0.1:8080/hook", resolver=DNS)
    with pytest.raises(CallbackRefused):
        await policy.check("http://127.0.0.2/hook", resolver=DNS)
    with pytest.raises(CallbackRefused):
        await policy.check("http://10.0.0.1/hook", resolver=DNS)


async def test_a_name_is_checked_with_every_address_it_resolves_to() -> None:
    # One private address among public ones is enough to refuse, unless its network is allowed.
    with pytest.raises(CallbackRefused):
        await CallbackPolicy.from_allowlist([]).check("http://rebind.example.com/", resolver=DNS)
    await CallbackPolicy.from_allowlist(["10.0.0.0/8"]).check("http://rebind.example.com/", resolver=DNS)


async def test_real_dns_for_localhost_is_refused_unless_allowed() -> None:
    with pytest.raises(CallbackRefused):
        await CallbackPolicy.from_allowlist([]).check("http://localhost:8000/")
    await CallbackPolicy.from_allowlist(["127.0.0.0/8", "::1/128"]).check("http://localhost:8000/")


def test_legacy_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"input":"hello"}'
    # Known answer from an independent implementation:
    # printf '%s' '{"input":"hello"}' | openssl dgst -sha256 -hmac secret
    expected = "sha256=3959066d3fb71ad0dedd205739a69284c6b1b894f20b00929ef8477f3a294442"

    assert sign("secret", body) == expected
    assert signature_valid("secret", body, expected)
    assert not signature_valid("secret", body + b" ", expected)
    assert not signature_valid("other", body, expected)
    assert not signature_valid("secret", body, expected.removeprefix("sha256="))
    assert not signature_valid("secret", body, None)
