"""The real client behind reverse proxies: address and scheme, believed only from trusted hops.

``X-Forwarded-For`` is read right to left: every hop that is a configured trusted proxy is
skipped and the first address that is not one is the client. A request that did not come from
a trusted proxy is taken at face value (its headers could be forged by anyone).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

Network = IPv4Network | IPv6Network
MAX_HOPS = 32


class TrustedProxies:
    """Decides a request's client address and whether it arrived over https."""

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks: tuple[Network, ...] = tuple(
            ip_network(network, strict=False) for network in networks
        )

    def trusts(self, address: str | None) -> bool:
        parsed = _address(address)
        return parsed is not None and any(parsed in network for network in self._networks)

    def client_address(self, request: web.Request) -> str:
        """The client's address: the peer, or the last untrusted hop the trusted proxies saw."""
        peer = request.remote or "unknown"
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in _forwarded_for(request)][-MAX_HOPS:]
        for hop in reversed(hops):
            if _address(hop) is None:
                return peer  # a garbled header: do not guess
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer

    def is_https(self, request: web.Request) -> bool:
        """True when the client's request was https, directly or at a trusted proxy."""
        if request.secure and request.scheme == "https":
            return True
        if not self.trusts(request.remote):
            return False
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.split(",")[0].strip().lower() == "https"


def _forwarded_for(request: web.Request) -> list[str]:
    values = request.headers.getall("X-Forwarded-For", [])
    return [hop for value in values for hop in value.split(",") if hop.strip()]


def _address(value: str | None) -> IPv4Address | IPv6Address | None:
    if not value:
        return None
    try:
        return ip_address(value.strip())
    except ValueError:
        return None
