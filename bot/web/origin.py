"""Where a web response came from, for the anti-gaming rules: a keyed hash of the visitor's
network address (an IPv6 address by its /64, what one subscriber usually gets). The address
itself is never stored."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from bot.web.keys import SEALS_KEY, SETTINGS_KEY
from core.integrity.flags import network_digest
from core.network import client_address
from core.unit_of_work import UnitOfWork


def client_network(request: web.Request, trusted_hops: int) -> str | None:
    """The visitor's address, an IPv6 one by its /64 (what one subscriber usually gets)."""
    address = client_address(
        request.remote, request.headers.get("X-Forwarded-For", ""), trusted_hops
    )
    if address is None:
        return None
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


async def note_origin(request: web.Request, uow: UnitOfWork, response_id: int) -> None:
    address = client_network(request, request.app[SETTINGS_KEY].trusted_proxy_hops)
    if address is None:
        return
    digest = network_digest(request.app[SEALS_KEY].secret, address)
    await uow.note_network(response_id, digest)
    await uow.commit()
