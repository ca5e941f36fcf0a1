"""Who is on the other end of an HTTP request, when reverse proxies of ours stand in between."""

from __future__ import annotations

import ipaddress


def client_address(remote: str | None, forwarded_for: str, trusted_hops: int) -> str | None:
    """The client's address: with `trusted_hops` proxies of ours in front, the hop the outermost
    of them appended to X-Forwarded-For (earlier hops are whatever the client claimed); without
    them, the peer's. None when that is not an IP address."""
    candidate = remote
    if trusted_hops > 0:
        seen = [part.strip() for part in forwarded_for.split(",")]
        seen = [part for part in seen if part]
        if len(seen) >= trusted_hops:
            candidate = seen[-trusted_hops]
    try:
        return str(ipaddress.ip_address(candidate or ""))
    except ValueError:
        return None


def network_of(address: str) -> str:
    """The network a client counts as: an IPv4 address itself, an IPv6 address by its /64
    (what one subscriber usually gets, so hopping within it does not escape a limit)."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
