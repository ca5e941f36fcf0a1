"""Redis is optional at run time, not only at start: with it away (refusing connections, as
a stopped server does) the bot still answers every press, nothing is stored twice, webhook
calls never get an error page, and /healthz says "degraded". Redis sits behind a small TCP
proxy that the test cuts and restores; without a Redis in the test run, the proxy leads
nowhere, so Redis is away from start to finish."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from qanagat.app import build_app
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram
from tests.tcp_proxy import TcpProxy
from tests.test_telegram_bot import (
    answers_of,
    bot_settings,
    free_port,
    rate,
    running_app,
    stored,
)


async def redis_behind(proxy_target: str | None) -> tuple[TcpProxy, str]:
    """A proxy in front of the test run's Redis (or in front of nothing) and its URL."""
    if proxy_target is None:
        proxy = await TcpProxy("127.0.0.1", 9).start()  # the discard port: nothing listens
        await proxy.cut()
        return proxy, f"redis://127.0.0.1:{proxy.port}/0"
    parts = urlsplit(proxy_target)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    return proxy, f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"


async def health(settings: Settings) -> tuple[int, dict[str, str]]:
    url = f"http://127.0.0.1:{settings.port}/healthz"
    async with aiohttp.ClientSession() as client, client.get(url) as reply:
        return reply.status, await reply.json()


async def test_the_bot_answers_while_redis_is_away_and_health_says_degraded(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    proxy, url = await redis_behind(redis_url)
    try:
        async with FakeTelegram() as fake:
            settings = bot_settings(fake, "webhook", free_port(), database_url, url)
            async with running_app(settings, fake):
                citizen = fake.user(7101, language_code="en")
                await citizen.send(f"/start {token}")
                await citizen.wait_for_message(containing="Overall")
                await rate(citizen, [("★★★★★", "on time")])
                await proxy.cut()
                update = await citizen.press("Yes")
                await citizen.wait_for_message(containing="refuse")
                await fake.send_update(update)  # delivered again while Redis is away
                await rate(citizen, [("No", "not listed"), ("No", "complete package")])
                status, checks = await health(settings)
                assert status == 200 and checks["status"] == "degraded", checks
                assert checks["database"] == "ok" and checks["redis"].startswith("error")
                if redis_url is not None:
                    await proxy.restore()
                    await rate(citizen, [("Yes", "Question 6")])
                    status, checks = await health(settings)
                    assert (status, checks["status"]) == (200, "ok")
            assert fake.webhook_errors == []
    finally:
        await proxy.stop()
    [response] = await stored(session_factory)
    expected = {"overall": 5, "deadline_met": True, "refused": False, "extra_documents": False}
    if redis_url is not None:
        expected["full_package"] = True
    assert await answers_of(session_factory, response.id) == expected


async def test_health_answers_within_its_timeout_when_the_database_does_not(
    database_url: str, seed: Seed
) -> None:
    # A database behind a proxy that accepts connections and never answers, as a cut
    # network does. (Only the health check's connection is cut: the seed's is not.)
    del seed
    if not database_url.startswith("postgresql"):
        proxy = await TcpProxy("127.0.0.1", 9).start()
        target = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/nothing"
    else:
        parts = urlsplit(database_url)
        proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
        target = database_url.replace(f":{parts.port}/", f":{proxy.port}/")
    await proxy.cut(swallow=True)
    port = free_port()
    settings = Settings(
        database_url=target,
        secret_key="test-secret-key-0123456789",  # type: ignore[arg-type]
        port=port,
    )
    from aiohttp import web

    runner = web.AppRunner(build_app(settings, with_bot=False))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        began = time.monotonic()
        status, checks = await health(settings)
        assert time.monotonic() - began < 5
        assert status == 503 and checks["status"] == "down"
        assert checks["database"].startswith("error")
    finally:
        await proxy.stop()
        await runner.cleanup()
