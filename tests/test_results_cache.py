"""The public pages are cheap to serve again: a page carries Cache-Control and an ETag, and a
request with that ETag gets 304 without a body; a page is rendered once and kept, and once it
is older than the refresh interval it is still served as it was while it is rendered afresh,
so the next visitor sees the new figures and nobody waits for the database."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.rollups import add_rollup_rows, counter_rows
from results.pages import setup_results
from tests.conftest import Seed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def add(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, satisfied: int, other: int
) -> None:
    counts: Counter[tuple[str, str]] = Counter(
        {("satisfaction", "5"): satisfied, ("satisfaction", "1"): other}
    )
    counts[("responses", "web")] = satisfied + other
    when = datetime(utcnow().year, 1, 15, 6, tzinfo=UTC)
    async with session_factory() as session:
        await add_rollup_rows(
            session, counter_rows(when, seed.agency.id, seed.service.id, seed.office.id, counts)
        )
        await session.commit()


async def test_pages_are_cached_revalidated_and_refreshed_in_the_background(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    await add(session_factory, seed, satisfied=150, other=50)  # 75 %
    clock = Clock()
    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=60, clock=clock)
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/results/agencies/ALA?lang=en")
        body = await first.text()
        assert first.status == 200 and "75 %" in body
        assert first.headers["Cache-Control"].startswith("public, max-age=")
        assert "Accept-Language" in first.headers["Vary"]
        tag = first.headers["ETag"]
        again = await client.get("/results/agencies/ALA?lang=en", headers={"If-None-Match": tag})
        assert again.status == 304 and await again.read() == b""

        await add(session_factory, seed, satisfied=0, other=200)  # now 150 of 400: 37.5 %
        kept = await client.get("/results/agencies/ALA?lang=en")
        assert kept.headers["ETag"] == tag  # within the refresh interval: as rendered

        clock.now += 61
        stale = await client.get("/results/agencies/ALA?lang=en")
        assert stale.headers["ETag"] == tag  # served at once while it is read again
        for _ in range(100):
            await asyncio.sleep(0.05)
            fresh = await client.get("/results/agencies/ALA?lang=en")
            if fresh.headers["ETag"] != tag:
                break
        assert "37,5 %" in await fresh.text() or "37.5 %" in await fresh.text()
