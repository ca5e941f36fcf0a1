"""Agencies' staff chats, end to end against the fake Bot API: a chat subscribes with a one-time
code (used once, refused when used, expired or forged, in the sender's language) and leaves with
/unsubscribe; after each closed week the worker sends the agency's summary to its chats in their
language, once, retrying what Telegram did not take and unsubscribing chats that blocked the bot;
deadline reminders and overdue flags reach the chats without the citizen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.summaries import SummaryPeriod, agency_summary
from bot.telegram.app import build_bot
from bot.telegram.staff_delivery import send_staff_messages
from core import staff_chats
from core.complaints import watch_deadlines
from core.identity import AddressBox
from core.models import (
    Agency,
    ServicePoint,
    StaffAlert,
    StaffChat,
    StaffChatCode,
    StaffMessageStatus,
    SummaryDelivery,
)
from core.settings import Settings
from qanagat.staff_jobs import plan_summaries, queue_staff_alerts
from scoring.summary_render import render_summary
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.test_agency_summary import file_complaint
from tests.test_telegram_bot import SECRET, bot_settings, free_port, running_app

# Monday 30 November 2026, 17:00 in Kazakhstan: the week of 23-29 November has just closed
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GROUP = -1001234567890
OTHER_GROUP = -1009876543210
SECRET_BYTES = SECRET.encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, redis_url: str | None) -> Settings:
    return bot_settings(fake, "polling", free_port(), database_url, redis_url)


@pytest.fixture
async def app(settings: Settings, fake: FakeTelegram, seed: Seed) -> AsyncIterator[None]:
    async with running_app(settings, fake):
        yield


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Bot]:
    sender = build_bot(settings)
    try:
        yield sender
    finally:
        await sender.session.close()


async def a_code(
    session_factory: async_sessionmaker[AsyncSession],
    agency_id: int,
    *,
    now: datetime | None = None,
    language: str = "ru",
    monthly: bool = False,
) -> str:
    async with session_factory() as session:
        made = await staff_chats.new_code(
            session,
            SECRET_BYTES,
            agency_id=agency_id,
            created_by_id=None,
            language=language,
            weekly=True,
            monthly=monthly,
            now=now or datetime.now(UTC),
        )
        await session.commit()
    return made.code


async def say_in_group(
    fake: FakeTelegram, staff: FakeUser, chat_id: int, words: str, *, replies: int = 1
) -> str:
    """`staff` writes `words` in the group `chat_id`; returns the bot's reply there."""
    chat = fake.chat(chat_id)
    before = len(chat.events)
    message: dict[str, Any] = {
        "message_id": chat.take_message_id(),
        "from": staff.as_user(),
        "chat": chat.chat,
        "date": int(datetime.now(UTC).timestamp()),
        "text": words,
    }
    if words.startswith("/"):
        command = words.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    await fake.send_update({"message": message})
    await fake.wait_for(lambda: len(chat.events) >= before + replies, what="a reply in the group")
    return chat.events[-1].plain_text or ""


async def subscribed(session_factory: async_sessionmaker[AsyncSession]) -> list[StaffChat]:
    async with session_factory() as session:
        return list(await session.scalars(select(StaffChat).order_by(StaffChat.id)))


async def subscribe_directly(
    session_factory: async_sessionmaker[AsyncSession],
    agency_id: int,
    chat_id: int,
    *,
    at: datetime,
    language: str = "kk",
    monthly: bool = False,
) -> StaffChat:
    code = await a_code(session_factory, agency_id, now=at, language=language, monthly=monthly)
    async with session_factory() as session:
        outcome = await staff_chats.subscribe(
            session,
            SECRET_BYTES,
            AddressBox(SECRET_BYTES),
            code=code,
            chat_id=chat_id,
            title="Staff",
            now=at,
        )
        await session.commit()
    assert isinstance(outcome, staff_chats.Subscribed)
    return outcome.chat


# ---------------------------------------------------------------- subscribing in Telegram


async def test_a_code_subscribes_a_group_once(
    app: None, fake: FakeTelegram, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    staff = fake.user(5101, language_code="ru")
    code = await a_code(session_factory, seed.agency.id)

    reply = await say_in_group(fake, staff, GROUP, f"/subscribe {code.lower()}")
    assert "сводки жалоб «Акимат города Алматы»" in reply and "еженедельно" in reply
    [chat] = await subscribed(session_factory)
    assert chat.agency_id == seed.agency.id and chat.language == "ru" and chat.weekly
    # the chat id is kept encrypted, and the code only as a hash, spent
    assert str(GROUP).encode() not in chat.encrypted_chat_id
    assert AddressBox(SECRET_BYTES).open(chat.encrypted_chat_id) == str(GROUP)
    async with session_factory() as session:
        stored = (await session.scalars(select(StaffChatCode))).one()
        assert stored.used_at is not None and code.encode() not in stored.code_hash

    # the same code in another group: used; a fresh code in the same group: already subscribed
    reply = await say_in_group(fake, staff, OTHER_GROUP, f"/subscribe {code}")
    assert "уже использован" in reply
    fresh = await a_code(session_factory, seed.agency.id)
    reply = await say_in_group(fake, staff, GROUP, f"/subscribe@{fake.BOT_USERNAME} {fresh}")
    assert "уже подписан" in reply
    assert len(await subscribed(session_factory)) == 1


async def test_forged_expired_and_missing_codes_are_refused_in_the_senders_language(
    app: None, fake: FakeTelegram, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kazakh = fake.user(5201, language_code="kk")
    english = fake.user(5202, language_code="en")
    reply = await say_in_group(fake, english, GROUP, "/subscribe ABCD-EFGH-JKMN")
    assert "There is no such code" in reply
    reply = await say_in_group(fake, english, GROUP, "/subscribe " + "x" * 500)
    assert "/subscribe CODE" in reply
    stale = await a_code(
        session_factory, seed.agency.id, now=datetime.now(UTC) - timedelta(hours=25)
    )
    reply = await say_in_group(fake, kazakh, GROUP, f"/subscribe {stale}")
    assert "мерзімі өтіп кеткен" in reply
    reply = await say_in_group(fake, kazakh, GROUP, "/subscribe")
    assert "/subscribe КОД" in reply
    assert await subscribed(session_factory) == []
    # the group's own talk and other commands get no citizen's answer
    before = len(fake.chat(GROUP).events)
    for words in ("Бүгін жиналыс 15:00-де", "/help", "/start"):
        await fake.send_update(
            {
                "message": {
                    "message_id": fake.chat(GROUP).take_message_id(),
                    "from": kazakh.as_user(),
                    "chat": fake.chat(GROUP).chat,
                    "date": int(datetime.now(UTC).timestamp()),
                    "text": words,
                }
            }
        )
    reply = await say_in_group(fake, kazakh, GROUP, "/unsubscribe")
    assert "ешбір жиынтыққа жазылмаған" in reply
    assert len(fake.chat(GROUP).events) == before + 1


async def test_unsubscribe_in_the_chat_ends_it_and_a_private_chat_works_too(
    app: None, fake: FakeTelegram, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    staff = fake.user(5301, language_code="ru")
    await staff.send(f"/subscribe {await a_code(session_factory, seed.agency.id)}")
    await staff.wait_for_message(containing="Этот чат будет получать")
    [chat] = await subscribed(session_factory)
    assert chat.title is None  # a private chat has no title to keep

    await staff.send("/unsubscribe")
    await staff.wait_for_message(containing="Чат отписан от сводок и напоминаний (ALA)")
    assert await subscribed(session_factory) == []
    await staff.send("/unsubscribe")
    await staff.wait_for_message(containing="не подписан")
    # the citizen side still answers as before
    await staff.send("/help")
    reply = await staff.wait_reply()
    assert "unknown" not in (reply.plain_text or "").lower()


# ---------------------------------------------------------------- summaries


async def test_the_closed_weeks_summary_reaches_each_chat_once_in_its_language(
    fake: FakeTelegram, bot: Bot, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        office = await session.get(ServicePoint, seed.office.id)
        for day in (23, 25, 27):
            await file_complaint(
                session,
                seed.service,
                office,
                "rudeness",
                datetime(2026, 11, day, 6, 0, tzinfo=UTC),
                text="Қызметкер дөрекі сөйледі, кезекте ұзақ тұрдық",
            )
    subscribed_at = NOW - timedelta(days=10)
    kazakh = await subscribe_directly(session_factory, seed.agency.id, GROUP, at=subscribed_at)
    russian = await subscribe_directly(
        session_factory, seed.agency.id, OTHER_GROUP, at=subscribed_at, language="ru"
    )

    async with session_factory() as session:
        planned = await plan_summaries(session, NOW)
    assert {(p.staff_chat_id, p.period.kind, p.language) for p in planned} == {
        (kazakh.id, "weekly", "kk"),
        (russian.id, "weekly", "ru"),
    }
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)
    assert outcomes["sent"] == 2

    week = SummaryPeriod.last_closed("weekly", NOW)
    async with session_factory() as session:
        agency = await session.get(Agency, seed.agency.id)
        assert agency is not None
        expected_kk = render_summary(await agency_summary(session, agency, week, NOW), "kk")
        summary_ru = await agency_summary(session, agency, week, NOW, lang="ru")
    [sent_kk] = fake.messages(GROUP)
    [sent_ru] = fake.messages(OTHER_GROUP)
    assert sent_kk.text == expected_kk and "Шағымдар: 3" in expected_kk
    assert sent_ru.text == render_summary(summary_ru, "ru") and "Жалоб: 3 " in (sent_ru.text or "")
    assert "Акимат города Алматы" in (sent_ru.text or "")

    # a restart: the plan finds the rows, the sender finds nothing due
    async with session_factory() as session:
        again = await plan_summaries(session, NOW + timedelta(hours=1))
    assert not any(p.new for p in again)
    outcomes = await send_staff_messages(
        session_factory, bot, SECRET_BYTES, NOW + timedelta(hours=1), pause_s=0
    )
    assert outcomes["sent"] == 0
    assert fake.sent_per_chat()[GROUP] == 1 and fake.sent_per_chat()[OTHER_GROUP] == 1


async def test_a_week_without_complaints_gets_the_short_message(
    fake: FakeTelegram, bot: Bot, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe_directly(session_factory, seed.agency.id, GROUP, at=NOW - timedelta(days=8))
    async with session_factory() as session:
        await plan_summaries(session, NOW)
    await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)
    [sent] = fake.messages(GROUP)
    assert sent.text is not None and "Осы кезеңде шағым түскен жоқ" in sent.text
    assert len(sent.text.splitlines()) <= 3


async def test_the_schedule_follows_the_calendar_and_the_chats_choice(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    wednesday = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    weekly = await subscribe_directly(session_factory, seed.agency.id, GROUP, at=wednesday)
    monthly = await subscribe_directly(
        session_factory, seed.agency.id, OTHER_GROUP, at=wednesday, monthly=True
    )

    async def plan(now: datetime) -> set[tuple[int, str, str]]:
        async with session_factory() as session:
            return {
                (p.staff_chat_id, p.period.kind, p.period.start.isoformat())
                for p in await plan_summaries(session, now)
                if p.new
            }

    # Sunday: the week the chats subscribed in has not closed; the week before they never had
    assert await plan(datetime(2026, 11, 29, 12, 0, tzinfo=UTC)) == set()
    # Monday 00:30 in Kazakhstan: the week of 23 November is closed
    monday = datetime(2026, 11, 29, 19, 30, tzinfo=UTC)
    assert await plan(monday) == {
        (weekly.id, "weekly", "2026-11-23"),
        (monthly.id, "weekly", "2026-11-23"),
    }
    assert await plan(monday + timedelta(hours=5)) == set()  # written once
    # 1 December in Kazakhstan: November is closed, for the chat that wants monthly summaries
    assert await plan(datetime(2026, 11, 30, 19, 30, tzinfo=UTC)) == {
        (monthly.id, "monthly", "2026-11-01")
    }
    # an administrator asking for one agency's monthly summary sends it to every chat
    async with session_factory() as session:
        forced = await plan_summaries(
            session, datetime(2026, 12, 2, 6, 0, tzinfo=UTC), agency_code="ALA", kind="monthly"
        )
        assert {(p.staff_chat_id, p.new) for p in forced} == {
            (weekly.id, True),
            (monthly.id, False),
        }
        preview = await plan_summaries(
            session, datetime(2026, 12, 8, 6, 0, tzinfo=UTC), kind="weekly", dry_run=True
        )
        assert len(preview) == 2 and all(p.new and p.text for p in preview)
        rows = await session.scalar(select(func.count()).select_from(SummaryDelivery))
    assert rows == 4  # the dry run wrote nothing


# ---------------------------------------------------------------- failures


async def test_a_5xx_is_retried_later_and_a_429_waits_as_telegram_asks(
    fake: FakeTelegram, bot: Bot, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe_directly(session_factory, seed.agency.id, GROUP, at=NOW - timedelta(days=8))
    async with session_factory() as session:
        await plan_summaries(session, NOW)

    async def row() -> SummaryDelivery:
        async with session_factory() as session:
            return (await session.scalars(select(SummaryDelivery))).one()

    fake.fail_next("sendMessage", 502)
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)
    assert outcomes["retry"] == 1
    failed = await row()
    assert failed.status is StaffMessageStatus.PENDING and failed.attempts == 1
    assert failed.next_attempt_at == NOW + timedelta(minutes=1)
    assert fake.messages(GROUP) == []

    fake.fail_next("sendMessage", 429, retry_after=30)
    later = NOW + timedelta(minutes=1)
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, later, pause_s=0)
    assert outcomes["limited"] == 1
    limited = await row()
    assert limited.next_attempt_at == later + timedelta(seconds=30) and limited.attempts == 1

    soon = later + timedelta(seconds=10)  # not due yet
    assert (await send_staff_messages(session_factory, bot, SECRET_BYTES, soon, pause_s=0)) == {}
    due = later + timedelta(seconds=30)
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, due, pause_s=0)
    assert outcomes["sent"] == 1
    sent = await row()
    assert sent.status is StaffMessageStatus.SENT and sent.sent_at == due
    assert len(fake.messages(GROUP)) == 1


async def test_a_chat_that_blocked_the_bot_is_unsubscribed(
    fake: FakeTelegram, bot: Bot, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe_directly(session_factory, seed.agency.id, GROUP, at=NOW - timedelta(days=8))
    keeps = await subscribe_directly(
        session_factory, seed.agency.id, OTHER_GROUP, at=NOW - timedelta(days=8)
    )
    async with session_factory() as session:
        await plan_summaries(session, NOW)
    fake.block_chat(GROUP)
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)
    assert outcomes == {"unsubscribed": 1, "sent": 1}
    assert [chat.id for chat in await subscribed(session_factory)] == [keeps.id]
    async with session_factory() as session:
        rows = list(await session.scalars(select(SummaryDelivery)))
    assert [r.staff_chat_id for r in rows] == [keeps.id]


# ---------------------------------------------------------------- deadline alerts


async def test_deadline_alerts_reach_the_chats_once_without_the_citizen(
    fake: FakeTelegram, bot: Bot, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    filed_at = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    await subscribe_directly(
        session_factory, seed.agency.id, GROUP, at=filed_at - timedelta(days=1), language="ru"
    )
    async with session_factory() as session:
        complaint = await file_complaint(
            session, seed.service, None, "rudeness", filed_at, text="Мне нагрубили"
        )
        reference, deadline = complaint.reference, complaint.deadline
    assert deadline is not None
    # the working day before the deadline: the reminder; the day after it: the overdue flag
    for moment in (
        datetime.combine(deadline, datetime.min.time(), UTC) - timedelta(days=1),
        datetime.combine(deadline, datetime.min.time(), UTC) + timedelta(days=2),
    ):
        async with session_factory() as session:
            await watch_deadlines(session, now=moment)
            await session.commit()
        async with session_factory() as session:
            await queue_staff_alerts(session, moment)
        async with session_factory() as session:  # a second pass owes nothing more
            assert await queue_staff_alerts(session, moment) == 0
        await send_staff_messages(session_factory, bot, SECRET_BYTES, moment, pause_s=0)

    texts = [m.text or "" for m in fake.messages(GROUP)]
    assert len(texts) == 2
    assert texts[0].startswith("Напоминание") and reference in texts[0]
    assert texts[1].startswith("Срок нарушен") and reference in texts[1]
    assert all(deadline.strftime("%d.%m.%Y") in t for t in texts)
    assert all("Мне нагрубили" not in t and "citizen" not in t for t in texts)
    async with session_factory() as session:
        kinds = list(await session.scalars(select(StaffAlert.kind).order_by(StaffAlert.id)))
    assert kinds == ["reminder", "overdue"]


# ---------------------------------------------------------------- the command


def test_the_command_previews_without_writing_and_refuses_what_it_cannot_do(
    database_url: str, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from core.db import create_engine, create_session_factory
    from qanagat.cli import main

    monkeypatch.setenv("QANAGAT_DATABASE_URL", database_url)
    monkeypatch.setenv("QANAGAT_SECRET_KEY", SECRET)
    monkeypatch.delenv("QANAGAT_TELEGRAM_TOKEN", raising=False)

    async def in_database(work: Any) -> Any:
        engine = create_engine(database_url)
        try:
            return await work(create_session_factory(engine))
        finally:
            await engine.dispose()

    async def subscribe_one(factory: async_sessionmaker[AsyncSession]) -> None:
        await subscribe_directly(
            factory, seed.agency.id, GROUP, at=datetime.now(UTC), language="ru"
        )

    async def deliveries(factory: async_sessionmaker[AsyncSession]) -> int:
        async with factory() as session:
            return int(await session.scalar(select(func.count()).select_from(SummaryDelivery)) or 0)

    runner = CliRunner()
    nobody = runner.invoke(main, ["summaries", "send", "--dry-run"])
    assert nobody.exit_code == 0 and "no subscribed chat" in nobody.output

    asyncio.run(in_database(subscribe_one))
    preview = runner.invoke(main, ["summaries", "send", "--agency", "ALA", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "ALA · chat" in preview.output and "weekly" in preview.output
    assert "За этот период жалоб не поступило" in preview.output
    assert asyncio.run(in_database(deliveries)) == 0

    unknown = runner.invoke(main, ["summaries", "send", "--agency", "NOPE", "--dry-run"])
    assert unknown.exit_code == 1 and "no agency 'NOPE'" in unknown.output
    no_bot = runner.invoke(main, ["summaries", "send", "--period", "weekly"])
    assert no_bot.exit_code == 1 and "QANAGAT_TELEGRAM_TOKEN" in no_bot.output
    assert asyncio.run(in_database(deliveries)) == 0


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=80))
async def test_whatever_is_typed_as_a_code_is_refused_as_unknown(
    typed: str, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        outcome = await staff_chats.subscribe(
            session,
            SECRET_BYTES,
            AddressBox(SECRET_BYTES),
            code=typed,
            chat_id=GROUP,
            title=None,
            now=NOW,
        )
    assert outcome is staff_chats.Refusal.UNKNOWN


class UpgradingGroup:
    """A Bot whose group became a supergroup: the first send answers with the new chat id (the
    fake Bot API has no such answer), later ones are taken."""

    def __init__(self, new_id: int) -> None:
        self.new_id = new_id
        self.sent: list[int] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> None:
        from aiogram.exceptions import TelegramMigrateToChat
        from aiogram.methods import SendMessage

        if chat_id != self.new_id:
            raise TelegramMigrateToChat(
                SendMessage(chat_id=chat_id, text=text), "group upgraded", self.new_id
            )
        self.sent.append(chat_id)


async def test_a_group_that_became_a_supergroup_keeps_its_subscription(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe_directly(session_factory, seed.agency.id, -4242, at=NOW - timedelta(days=8))
    async with session_factory() as session:
        await plan_summaries(session, NOW)
    bot = UpgradingGroup(-1004242)
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)  # type: ignore[arg-type]
    assert outcomes == {"retry": 1}
    outcomes = await send_staff_messages(session_factory, bot, SECRET_BYTES, NOW, pause_s=0)  # type: ignore[arg-type]
    assert outcomes == {"sent": 1} and bot.sent == [-1004242]
    [chat] = await subscribed(session_factory)
    assert AddressBox(SECRET_BYTES).open(chat.encrypted_chat_id) == "-1004242"
    assert chat.chat_key == staff_chats.chat_key(SECRET_BYTES, -1004242)
