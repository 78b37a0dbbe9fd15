"""Where provider calls may go: public addresses, plus what PROVIDER_ALLOWED_NETWORKS allows.

A stored base URL is admin input that the server then calls with a secret attached, so a URL
pointing inside the network (loopback, private ranges, link-local cloud metadata) is a server-side
request forgery. The check runs on the address actually connected to, after DNS, so a public name
resolving to 127.0.0.1 (or a decimal IP like `2130706433`, which only getaddrinfo understands) is
refused too. Operators allow internal servers (a local Ollama) by host name, IP or CIDR network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationNotAllowedError(OSError):
    """The destination's address is internal and not allowed. An OSError, so aiohttp's connector
    reports it like any failure to connect (wrapped in a ClientConnectorError)."""


@dataclass(frozen=True)
class AllowedDestinations:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if address.is_global and not address.is_multicast:
            return True
        return any(address.version == net.version and address in net for net in self.networks)


def parse_allowed(entries: Iterable[str]) -> AllowedDestinations:
    """Split PROVIDER_ALLOWED_NETWORKS into host names and networks; ValueError on a bad entry."""
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.lower().rstrip(".")
        labels = name.split(".")
        if not all(label and len(label) <= 63 for label in labels) or not all(
            c.isalnum() or c in "-_" for label in labels for c in label
        ):
            raise ValueError(f"{raw!r} is neither a host name, an IP address nor a CIDR network")
        hosts.add(name)
    return AllowedDestinations(hosts=frozenset(hosts), networks=tuple(networks))


@lru_cache(maxsize=8)
def _parsed(entries: tuple[str, ...]) -> AllowedDestinations:
    return parse_allowed(entries)


def allowed_destinations() -> AllowedDestinations:
    """The running settings' allow list (read per call, so tests can override the setting)."""
    from django.conf import settings

    return _parsed(tuple(settings.PROVIDER_ALLOWED_NETWORKS))


def _literal(host: str) -> IPAddress | None:
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.replace(".", "").isdigit():
        # aiohttp takes any digits-and-dots host for an IP literal and lets the OS parse it, which
        # reads the classic inet_aton forms: "2130706433" and "127.1" are 127.0.0.1.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_literal_host(host: str) -> None:
    """Refuse an IP-literal host that is not allowed. aiohttp connects to IP literals without
    asking the resolver, so `GuardedResolver` never sees them: this is their connect-time check."""
    address = _literal(host)
    if address is None:
        return
    allowed = allowed_destinations()
    if not allowed.allows_host(host) and not allowed.allows_address(address):
        raise DestinationNotAllowedError(f"destination {address} is not allowed")


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, keeping only the addresses a provider call may connect to."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = allowed_destinations()
        if allowed.allows_host(host):
            return results
        kept = [r for r in results if allowed.allows_address(ipaddress.ip_address(r["host"]))]
        if not kept:
            raise DestinationNotAllowedError(f"destination {host} is not allowed")
        return kept

    async def close(self) -> None:
        await self._inner.close()


def is_not_allowed(exc: BaseException) -> bool:
    """Whether an aiohttp connection error was our refusal."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DestinationNotAllowedError):
            return True
        seen.add(id(current))
        current = getattr(current, "os_error", None) or current.__cause__
    return False
