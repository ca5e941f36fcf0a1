"""A citizen links their chat with /link, gives the code at the counter, and the next service
event carrying it is an invitation for them; a new /link or /stop ends the old code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import apikeys
from core.models import ChatAddress, ChatLink, FunnelDaily, Invitation
from core.settings import Settings
from qanagat.delivery import run_worker_delivery
from tests.api_fixtures import event
from tests.conftest import Seed
from tests.fake_telegram import BOT_USERNAME, FakeTelegram
from tests.test_telegram_bot import bot_settings, free_port, running_app

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")


@dataclass
class Counter:
    """The whole app with the bot, and a service centre's queue system with an API key."""

    fake: FakeTelegram
    settings: Settings
    key: str

    async def report(self, *events: dict[str, object]) -> list[dict[str, object]]:
        async with (
            aiohttp.ClientSession() as client,
            client.post(
                f"http://127.0.0.1:{self.settings.port}/api/v1/service-events",
                json={"events": list(events)},
                headers={"Authorization": f"Bearer {self.key}"},
            ) as reply,
        ):
            assert reply.status in (200, 201), await reply.text()
            body = await reply.json()
            return list(body["events"])


@pytest.fixture
async def counter(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Counter]:
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, "polling", free_port(), database_url, redis_url)
        async with session_factory() as session:
            created = await apikeys.create(session, settings.secret_bytes(), "queue", ["ALA"])
            await session.commit()
        async with running_app(settings, fake):
            yield Counter(fake, settings, created.key)


async def ask_for_code(counter: Counter, user_id: int, text: str = "Ваш код") -> str:
    citizen = counter.fake.user(user_id, language_code="ru")
    await citizen.send("/link")
    message = await citizen.wait_for_message(containing=text)
    found = CODE.search(message.plain_text or "")
    assert found, message.plain_text
    return found.group(1)


async def test_a_linked_citizen_gets_the_next_invitation_in_their_chat(
    counter: Counter, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    code = await ask_for_code(counter, 7101)

    [result] = await counter.report(event("link-1", telegram_ref=code))

    assert (result["invitation"], result["telegram_ref"]) == ("issued", "received")
    async with session_factory() as session:
        invitation = (await session.scalars(select(Invitation))).one()
        address = (await session.scalars(select(ChatAddress))).one()
        assert invitation.respondent_id == address.respondent_id
        assert b"7101" not in address.encrypted_address
        [link] = list(await session.scalars(select(ChatLink)))
        assert code.replace("-", "").encode() not in link.code_hash


async def test_a_new_code_replaces_the_old_and_stop_forgets_both(
    counter: Counter, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    old = await ask_for_code(counter, 7102)
    citizen = counter.fake.user(7102, language_code="ru")
    await citizen.send("/link")
    await counter.fake.wait_for(
        lambda: len([m for m in counter.fake.messages(7102) if m.contains("Ваш код")]) == 2,
        what="a second code",
    )
    new = CODE.findall(counter.fake.messages(7102)[-1].plain_text or "")[0]
    assert new != old

    stale, fresh = await counter.report(
        event("link-2", telegram_ref=old), event("link-3", telegram_ref=new)
    )
    assert stale["telegram_ref"] == "received" and stale["survey_url"]
    assert fresh["telegram_ref"] == "received"

    await citizen.send("/stop")
    await citizen.wait_for_message(containing="удалены")
    [after] = await counter.report(event("link-4", telegram_ref=new))
    assert after["telegram_ref"] == "received"
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ChatLink)) == 0


async def test_the_code_is_explained_in_kazakh_and_english(counter: Counter) -> None:
    kazakh = counter.fake.user(7103, language_code="kk")
    await kazakh.send("/link")
    await kazakh.wait_for_message(containing="Сіздің кодыңыз")
    english = counter.fake.user(7104, language_code="en")
    await english.send("/link")
    await english.wait_for_message(containing="Your code")


async def test_a_linked_citizens_invitation_reaches_their_chat_and_opens_the_survey(
    counter: Counter, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    code = await ask_for_code(counter, 7102)
    citizen = counter.fake.user(7102, language_code="ru")

    [result] = await counter.report(event("link-deliver", telegram_ref=code))
    assert result["invitation"] == "issued"
    # The worker's dispatcher (in the embedded mode the server's own may be first: either way
    # the outbox's lease lets exactly one of them send it).
    worker = counter.settings.model_copy(update={"telegram_bot_username": BOT_USERNAME})
    await run_worker_delivery(worker, session_factory, once=True)

    invitation = await citizen.wait_for_message(containing="Оцените")
    [button] = [b for row in invitation.button_rows() for b in row]
    token = parse_qs(urlparse(str(button["url"])).query)["start"][0]
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message()
    async with session_factory() as session:
        [funnel] = list(await session.scalars(select(FunnelDaily)))
        assert (funnel.served, funnel.invited, funnel.delivered, funnel.started) == (1, 1, 1, 1)
    sent = [m for m in counter.fake.chat(7102).messages.values() if m.contains("Оцените")]
    assert len(sent) == 1
