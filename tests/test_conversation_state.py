"""The bot's conversation state in Redis names nobody: keyed by the person's pseudonym, never
their Telegram ids, with a TTL; /stop and the retention job delete what is left of people
the database no longer knows, and state kept under the old clear-id keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.fsm_storage import purge_conversation_state
from core.identity import respondent_key
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_bot import SECRET, bot_settings, free_port, running_app

CITIZEN = 734_500_911


async def test_state_is_keyed_by_pseudonym_with_a_ttl_and_purged(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if redis_url is None:
        pytest.skip("conversation state is kept in Redis only with a Redis")
    client = redis.asyncio.Redis.from_url(redis_url)
    pseudonym = respondent_key(SECRET.encode(), "telegram", CITIZEN)
    try:
        async with FakeTelegram() as fake:
            settings = bot_settings(fake, "polling", free_port(), database_url, redis_url)
            async with running_app(settings, fake):
                citizen = fake.user(CITIZEN, language_code="en")
                await citizen.send(f"/start {await make_invitation()}")
                await citizen.wait_for_message(containing="Overall")
                await citizen.send("/start")  # a new card: the live one is remembered
                await citizen.wait_for_message(containing="Overall")
                keys = [key.decode() async for key in client.scan_iter(match="*fsm*")]
                assert keys, "the live card is remembered"
                for key in keys:
                    assert str(CITIZEN) not in key
                    assert key.startswith(f"qanagat:fsm:{pseudonym}:")
                    assert 0 < await client.ttl(key) <= 2 * 86_400

                # Left over: a forgotten person's state and the old clear-id layout.
                gone = respondent_key(SECRET.encode(), "telegram", 1)
                await client.set(f"qanagat:fsm:{gone}:data", "{}")
                await client.set(f"fsm:{CITIZEN}:{CITIZEN}:data", "{}")
                async with session_factory() as session:
                    assert await purge_conversation_state(client, session) == 2
                remaining = [key.decode() async for key in client.scan_iter(match="*fsm*")]
                assert sorted(remaining) == sorted(keys)  # the living citizen's stays

                await citizen.send("/stop")
                await citizen.wait_for_message(containing="deleted")
                async with session_factory() as session:
                    await purge_conversation_state(client, session)
                assert [key async for key in client.scan_iter(match="*fsm*")] == []
    finally:
        await client.aclose()
