"""The callback guard looks through every IPv6 form that carries an IPv4 address to reach it."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_platform.webhooks.callback_policy import CallbackPolicy, embedded_ipv4
from langchain_platform.webhooks.errors import CallbackRefused

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address


def mapped(v4: V4) -> V6:
    return V6(0xFFFF << 32 | int(v4))


def compatible(v4: V4) -> V6:
    return V6(int(v4))


def nat64(v4: V4) -> V6:
    return V6(int(V6("64:ff9b::")) | int(v4))


def nat64_local_96(v4: V4) -> V6:
    return V6(int(V6("64:ff9b:1::")) | int(v4))


def nat64_local_48(v4: V4) -> V6:
    # RFC 6052 section 2.2 for a /48 prefix: bits 48-63 the first half, 64-71 zero, 72-87 the rest.
    high, low = int(v4) >> 16, int(v4) & 0xFFFF
    return V6(int(V6("64:ff9b:1::")) | high << 64 | low << 40)


def sixtofour(v4: V4) -> V6:
    return V6(0x2002 << 112 | int(v4) << 80)


TEREDO_SERVER = V4("65.54.227.120")


def teredo(v4: V4) -> V6:
    # RFC 4380: prefix, server, flags, obfuscated port, then the client address with every bit inverted.
    return V6(
        0x2001_0000 << 96 | int(TEREDO_SERVER) << 64 | 0x8000 << 48 | 0x63BF << 32 | (int(v4) ^ 0xFFFF_FFFF)
    )


FORMS: dict[str, Callable[[V4], V6]] = {
    "mapped": mapped,
    "compatible": compatible,
    "nat64": nat64,
    "nat64-local-96": nat64_local_96,
    "nat64-local-48": nat64_local_48,
    "6to4": sixtofour,
    "teredo": teredo,
}


def refused(address: V6) -> bool:
    try:
        asyncio.run(CallbackPolicy.from_allowlist([]).check(f"http://[{address}]:8000/hook"))
    except CallbackRefused:
        return True
    return False


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("v4", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "172.17.0.2", "169.254.169.254"])
def test_each_form_of_an_internal_ipv4_is_refused(form: str, v4: str) -> None:
    address = FORMS[form](V4(v4))
    assert V4(v4) in embedded_ipv4(address), f"{address} should carry {v4}"
    assert refused(address), f"{form} form {address} of {v4} was let through"


@pytest.mark.parametrize("form", ["compatible", "nat64", "6to4"])
def test_a_public_ipv4_in_a_routable_form_stays_allowed(form: str) -> None:
    assert not refused(FORMS[form](V4("93.184.216.34")))


def test_teredo_yields_the_inverted_client_address() -> None:
    # RFC 4380's own example: client 192.0.2.45 behind server 65.54.227.120.
    address = V6("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    assert embedded_ipv4(address) == [V4("65.54.227.120"), V4("192.0.2.45")]
    assert teredo(V4("192.0.2.45")) == address


def test_a_plain_public_ipv6_address_embeds_nothing() -> None:
    assert embedded_ipv4(V6("2606:2800:220:1::1")) == []


INTERNAL_NETWORKS = [
    ipaddress.IPv4Network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8")
]


@st.composite
def internal_ipv4(draw: st.DrawFn) -> V4:
    network = draw(st.sampled_from(INTERNAL_NETWORKS))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return V4(int(network.network_address) + offset)


@given(v4=internal_ipv4(), form=st.sampled_from(sorted(FORMS)))
def test_any_private_loopback_or_link_local_ipv4_in_any_form_is_refused(v4: V4, form: str) -> None:
    assert refused(FORMS[form](v4))
