"""Where a web response came from, for the anti-gaming rules: a keyed hash of the visitor's
network address (an IPv6 address by its /64, what one subscriber usually gets). The address
itself is never stored."""

from __future__ import annotations

import ipaddress

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web.keys import SEALS_KEY, SETTINGS_KEY
from core.integrity.flags import network_digest, note_network_address


def client_address(request: web.Request, trusted_hops: int) -> str | None:
    """The visitor's address: from X-Forwarded-For when `trusted_hops` proxies of ours sit in
    front (each appends what it saw; only theirs can be believed), else the peer's."""
    candidate = request.remote
    if trusted_hops > 0:
        seen = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        seen = [part for part in seen if part]
        if len(seen) >= trusted_hops:
            candidate = seen[-trusted_hops]
    try:
        address = ipaddress.ip_address(candidate or "")
    except ValueError:
        return None
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def note_origin(request: web.Request, session: AsyncSession, response_id: int) -> None:
    address = client_address(request, request.app[SETTINGS_KEY].trusted_proxy_hops)
    if address is None:
        return
    digest = network_digest(request.app[SEALS_KEY].secret, address)
    await note_network_address(session, response_id, digest)
    await session.commit()
