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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


class CallbackRefused(ValueError):
    """The callback URL is not acceptable; the message says why and how to allow it."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
