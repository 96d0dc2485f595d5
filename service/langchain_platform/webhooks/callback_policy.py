"""Where webhook callbacks may go: public addresses, or what WEBHOOK_CALLBACK_ALLOWLIST names.

A caller chooses ``callback_url``, so without this check the service could be made to POST into
its own network (metadata services, databases, admin ports). Every address the name resolves to is
checked, at submission and again before each delivery attempt (the DNS answer may have changed).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from langchain_platform.webhooks.errors import CallbackRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a translator or a
# relay: NAT64's well-known prefix (RFC 6052) and its local-use prefix (RFC 8215, usually used as a /96).
_NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LOW_32_BITS = 0xFFFF_FFFF


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet to ``address`` may end up at: mapped, compatible, NAT64, 6to4, Teredo.

    Each of these forms is routed or translated to its IPv4 address, so ``::ffff:127.0.0.1``,
    ``::127.0.0.1``, ``64:ff9b::7f00:1``, ``2002:7f00:1::`` and a Teredo address whose client is
    127.0.0.1 all reach the loopback, whatever the IPv6 address itself looks like.
    """
    found: list[ipaddress.IPv4Address] = []
    low = ipaddress.IPv4Address(int(address) & _LOW_32_BITS)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE or any(address in prefix for prefix in _NAT64_PREFIXES):
        found.append(low)
    if address in _NAT64_PREFIXES[1]:
        # RFC 6052's layout for a /48 prefix: 16 bits, the reserved u octet, then the other 16.
        bits = int(address)
        found.append(ipaddress.IPv4Address((((bits >> 64) & 0xFFFF) << 16) | ((bits >> 40) & 0xFFFF)))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client); the client is already un-inverted
    return found


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_public(address.ipv4_mapped)  # the IPv6 form itself is never "global"
        if not all(_is_public(v4) for v4 in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class CallbackPolicy:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def from_allowlist(cls, entries: Sequence[str]) -> CallbackPolicy:
        """Entries are host names, IP addresses or CIDRs (e.g. ``hooks.internal``, ``10.0.0.0/8``)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip().lower()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def _allowed_address(self, address: IPAddress) -> bool:
        return _is_public(address) or any(address in network for network in self.networks)

    async def check(self, url: str, resolver: Resolver = resolve) -> None:
        """Raise ``CallbackRefused`` unless every address of the URL's host may be called."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            raise CallbackRefused(f"callback_url {url!r} must be an absolute http(s) URL")
        if host in self.hosts:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise CallbackRefused(f"callback_url {url!r} has an invalid port") from exc
        try:
            addresses = [str(ipaddress.ip_address(host))]  # a literal address needs no lookup
        except ValueError:
            addresses = await self._resolve(resolver, host, port)
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self._allowed_address(address):
                raise CallbackRefused(
                    f"callback_url host {host} resolves to non-public address {address}: "
                    "add the host or its network to WEBHOOK_CALLBACK_ALLOWLIST to allow it"
                )

    @staticmethod
    async def _resolve(resolver: Resolver, host: str, port: int) -> list[str]:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:
            raise CallbackRefused(f"callback_url host {host} does not resolve ({exc})") from exc
        if not addresses:
            raise CallbackRefused(f"callback_url host {host} does not resolve")
        return addresses
