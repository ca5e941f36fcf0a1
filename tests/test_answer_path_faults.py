"""The answer path on an operator's worst day: every update delivered two or three times at
once, to two servers on one database; the database's connections cut and restored. After
each: answers given = answers stored, no duplicates, no response left in progress with every
answer given, completed = funnel completed = ledger entries = rollups, and every citizen's
survey resumes at the right question. The updates are posted to the servers' webhooks by the
test itself (the fake Bot API only composes them), as Telegram would retry them."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.identity import respondent_key
from core.models import Answer, Respondent, Response, ResponseStatus
from tests.answer_path_checks import tally
from tests.conftest import Seed
from tests.fake_telegram import BotMessage, FakeTelegram, FakeUser
from tests.tcp_proxy import TcpProxy
from tests.test_telegram_bot import (
    SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    bot_settings,
    free_port,
    running_app,
)

QUESTION = re.compile(r"Question (\d+) of (\d+)")
PREFERRED = ("★★★★", "No", "Skip")  # a path without the low-rating branch


def card_of(user: FakeUser) -> BotMessage:
    return [m for m in user.messages if m.buttons()][-1]


def pick(card: BotMessage) -> str:
    """The button a citizen presses on this card: a four-star rating, No, or the first."""
    labels = card.buttons()
    return next((label for label in PREFERRED if label in labels), labels[0])


def question_number(card: BotMessage) -> int:
    found = QUESTION.search(card.plain_text or "")
    assert found is not None, card.plain_text
    return int(found.group(1))


class Servers:
    """Webhook servers of one bot on one database; updates posted to them by the test."""

    def __init__(self, fake: FakeTelegram, urls: list[str], http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.urls = urls
        self.http = http
        self.turn = itertools.cycle(range(len(urls)))
        self.statuses: list[int] = []

    async def post(self, url: str, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with self.http.post(url, json=update, headers=headers) as reply:
            self.statuses.append(reply.status)
            body = await reply.json(content_type=None)
        if isinstance(body, dict) and body.get("method"):
            # What the server answered inside the webhook call (a callback's answer).
            method = str(body.pop("method"))
            await self.fake._execute(self.fake.webhook_token or "", method, body, "webhook")

    async def deliver(self, copies: int) -> None:
        """Each update composed since the last call, `copies` times at once, to the servers
        in turn (a redelivery racing the first, on another server)."""
        updates, self.fake.held[:] = list(self.fake.held), []
        for update in updates:
            targets = [self.urls[next(self.turn)] for _ in range(copies)]
            await asyncio.gather(*(self.post(url, update) for url in targets))


@pytest.fixture
async def servers(
    database_url: str, redis_url: str | None, seed: Seed
) -> AsyncIterator[Callable[..., Awaitable[Servers]]]:
    del seed
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeTelegram())
        http = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(count: int = 2, database: str = database_url) -> Servers:
            urls = []
            for _ in range(count):
                settings = bot_settings(fake, "webhook", free_port(), database, redis_url)
                await stack.enter_async_context(running_app(settings, fake))
                assert fake.webhook_url is not None
                urls.append(fake.webhook_url)
            fake.hold_updates = True
            return Servers(fake, urls, http)

        yield start


async def begin(servers: Servers, users: Sequence[FakeUser], tokens: Sequence[str]) -> None:
    for user, token in zip(users, tokens, strict=True):
        await user.send(f"/start {token}")
    await servers.deliver(copies=2)
    for user in users:
        await user.wait_for_message(containing="Question 1 of")


async def step_all(servers: Servers, users: Sequence[FakeUser], copies: int) -> None:
    """Each citizen presses one answer (delivered `copies` times at once); waits for cards."""
    before = {}
    for user in users:
        card = card_of(user)
        if "Question" not in (card.plain_text or ""):
            continue
        before[user.id] = question_number(card)
        await user.press(pick(card))
    await servers.deliver(copies)
    for user in users:
        if user.id in before:
            await user.wait_for(
                lambda u=user, n=before[user.id]: (
                    "Thank" in (card_of_any(u).plain_text or "")
                    or (
                        "Question" in (card_of_any(u).plain_text or "")
                        and question_number(card_of_any(u)) > n
                    )
                ),
                timeout=10,
                what="the next card",
            )


def card_of_any(user: FakeUser) -> BotMessage:
    """The survey's card, with or without buttons: the chat's last message."""
    return user.messages[-1]


async def responses_of(
    session_factory: async_sessionmaker[AsyncSession], users: Sequence[FakeUser]
) -> dict[int, int]:
    """Each citizen's response id, found by their pseudonym."""
    keys = {respondent_key(SECRET.encode(), "telegram", user.id): user.id for user in users}
    async with session_factory() as session:
        rows = await session.execute(
            select(Respondent.key, Response.id).join(
                Response, Response.respondent_id == Respondent.id
            )
        )
        return {keys[key]: response_id for key, response_id in rows.all() if key in keys}


async def answers_per_response(
    session_factory: async_sessionmaker[AsyncSession],
) -> dict[int, int]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Answer.response_id, func.count()).group_by(Answer.response_id)
        )
        return {response_id: count for response_id, count in rows.all()}


async def assert_consistent(
    session_factory: async_sessionmaker[AsyncSession], citizens: int, completed: int
) -> None:
    counts = await tally(session_factory)
    assert counts.stuck == 0
    assert counts.completed == completed
    assert counts.funnel_completed == completed
    assert counts.ledger == completed
    assert counts.rollup_responses == completed
    async with session_factory() as session:
        responses = (await session.scalar(select(func.count()).select_from(Response))) or 0
    assert responses == citizens  # one response per invitation, none twice


async def test_updates_delivered_three_times_at_once_to_two_servers_count_once(
    servers: Callable[..., Awaitable[Servers]],
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    running = await servers(2)
    users = [running.fake.user(7400 + n, language_code="en") for n in range(6)]
    await begin(running, users, [await make_invitation() for _ in users])
    for round_number in range(30):
        if all("Thank" in (card_of_any(u).plain_text or "") for u in users):
            break
        await step_all(running, users, copies=2 + round_number % 2)
    assert all("Thank" in (card_of_any(u).plain_text or "") for u in users)
    assert all(status == 200 for status in running.statuses)
    await assert_consistent(session_factory, len(users), len(users))
    # Answers given = answers stored: each citizen's last card counted every question.
    per_response = await answers_per_response(session_factory)
    async with session_factory() as session:
        for response in await session.scalars(select(Response)):
            assert response.status is ResponseStatus.COMPLETED
            assert per_response[response.id] == 10  # the path above asks ten questions


async def test_database_connections_cut_and_restored_mid_survey(
    database_url: str,
    servers: Callable[..., Awaitable[Servers]],
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the database's connections are cut through a proxy to PostgreSQL")
    parts = urlsplit(database_url)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    try:
        through = database_url.replace(f":{parts.port}/", f":{proxy.port}/")
        running = await servers(2, through)
        users = [running.fake.user(7500 + n, language_code="en") for n in range(4)]
        await begin(running, users, [await make_invitation() for _ in users])
        response_of = await responses_of(session_factory, users)
        for _ in range(3):
            await step_all(running, users, copies=1)
        async with proxy.outage():
            for user in users:
                await user.press(pick(card_of(user)))
            await running.deliver(copies=2)
        # Back: each citizen was told to try again (or the tap took effect): /start resumes
        # every survey at the question after the last one stored, on either server. The
        # first use of a connection cut meanwhile fails (and the pool renews them): the
        # citizen is asked to try again, and does.
        stored = await answers_per_response(session_factory)
        for user in users:
            for _attempt in range(4):
                await user.send("/start")
                await running.deliver(copies=1)
                reply = await user.wait_for_message()
                if "Question" in (reply.plain_text or ""):
                    break
            assert question_number(reply) == stored[response_of[user.id]] + 1
        for _ in range(30):
            if all("Thank" in (card_of_any(u).plain_text or "") for u in users):
                break
            await step_all(running, users, copies=2)
        await assert_consistent(session_factory, len(users), len(users))
        assert all(count == 10 for count in (await answers_per_response(session_factory)).values())
        assert all(status < 500 for status in running.statuses)
    finally:
        await proxy.stop()


async def test_a_webhook_server_killed_with_citizens_in_flight_loses_and_doubles_nothing(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    del seed
    port = free_port()
    env = {
        **os.environ,
        "QANAGAT_DATABASE_URL": database_url,
        "QANAGAT_SECRET_KEY": SECRET,
        "QANAGAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "QANAGAT_PORT": str(port),
        "QANAGAT_TELEGRAM_TOKEN": TOKEN,
        "QANAGAT_TELEGRAM_MODE": "webhook",
        "QANAGAT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    if redis_url is not None:
        env["QANAGAT_REDIS_URL"] = redis_url
    else:
        env.pop("QANAGAT_REDIS_URL", None)

    async with FakeTelegram() as fake, aiohttp.ClientSession() as http:
        env["QANAGAT_TELEGRAM_API_URL"] = fake.url

        async def launch() -> asyncio.subprocess.Process:
            fake.hold_updates = False
            fake.webhook_url = None
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.webhook_server",
                env=env,
                cwd=str(Path(__file__).parent.parent),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await fake.wait_for(lambda: fake.webhook_url is not None, 60, what="setWebhook")

            async def listening() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
                        return reply.status == 200
                except aiohttp.ClientError:
                    return False

            await fake.wait_for(listening, 30, what="the server to listen")
            fake.hold_updates = True
            return process

        process = await launch()
        try:
            running = Servers(fake, [str(fake.webhook_url)], http)
            users = [fake.user(7600 + n, language_code="en") for n in range(6)]
            await begin(running, users, [await make_invitation() for _ in users])
            for _ in range(2):
                await step_all(running, users, copies=1)

            # Every citizen presses at once; the server dies while handling them.
            for user in users:
                await user.press(pick(card_of(user)))
            in_flight, fake.held[:] = list(fake.held), []
            posts = [asyncio.create_task(running.post(running.urls[0], u)) for u in in_flight]
            await asyncio.sleep(0.02)
            process.kill()  # SIGKILL: no clean-up of any kind
            await process.wait()
            outcomes = await asyncio.gather(*posts, return_exceptions=True)
            lost = [u for u, o in zip(in_flight, outcomes, strict=True) if o is not None]

            process = await launch()
            running = Servers(fake, [str(fake.webhook_url)], http)
            # Telegram delivers again what got no answer: each such tap takes effect now.
            fake.held.extend(lost)
            await running.deliver(copies=2)
            stored = await answers_per_response(session_factory)
            for user in users:
                await user.send("/start")
            await running.deliver(copies=1)
            for user in users:
                resumed = await user.wait_for_message(containing="Question", timeout=10)
                assert question_number(resumed) in {n + 1 for n in stored.values()}
            assert sorted(stored.values()) == [3] * len(users)  # two before, and the one in flight
            for _ in range(30):
                if all("Thank" in (card_of_any(u).plain_text or "") for u in users):
                    break
                await step_all(running, users, copies=2)
            await assert_consistent(session_factory, len(users), len(users))
            per_response = await answers_per_response(session_factory)
            assert all(count == 10 for count in per_response.values())
        finally:
            process.kill()
            await process.wait()


async def test_redis_stopped_and_started_mid_run_under_two_servers(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    del seed
    if redis_url is None:
        pytest.skip("Redis is stopped and started through a proxy to the test run's Redis")
    parts = urlsplit(redis_url)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    through = f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeTelegram())
        http = await stack.enter_async_context(aiohttp.ClientSession())
        urls = []
        for _ in range(2):
            settings = bot_settings(fake, "webhook", free_port(), database_url, through)
            await stack.enter_async_context(running_app(settings, fake))
            urls.append(str(fake.webhook_url))
        fake.hold_updates = True
        running = Servers(fake, urls, http)
        try:
            users = [fake.user(7700 + n, language_code="en") for n in range(5)]
            await begin(running, users, [await make_invitation() for _ in users])
            await step_all(running, users, copies=2)
            async with proxy.outage():  # Redis stopped: refused connections
                for _ in range(2):
                    await step_all(running, users, copies=2)
            for _ in range(30):
                if all("Thank" in (card_of_any(u).plain_text or "") for u in users):
                    break
                await step_all(running, users, copies=3)
        finally:
            await proxy.stop()
        assert all(status == 200 for status in running.statuses)
    await assert_consistent(session_factory, len(users), len(users))
    assert all(count == 10 for count in (await answers_per_response(session_factory)).values())
