"""Filing a complaint in Telegram, end to end: the whole app against the fake Bot API, a citizen
who rated a service low files a complaint from the thank-you card or with /complaint; what the
database keeps is scrubbed, routed to the service's agency and office, and has a deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.complaints import parse_reference
from core.models import (
    Answer,
    Complaint,
    ComplaintCategory,
    ComplaintRequest,
    ComplaintStatus,
    ComplaintStatusChange,
    Response,
)
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.test_telegram_bot import Running, bot_settings, free_port, rate, running_app

LOW_RATING_RU = [
    ("★", "Что пошло не так"),
]
REST_RU = [
    ("Готово", "в установленный срок"),
    ("Нет", "без обоснованной"),
    ("Да", "документы"),
    ("Да", "полный пакет"),
    ("Нет", "вежливы"),
    ("★", "понятной"),
    ("★★", "Как вы получили"),
    ("В ЦОНе", "открытыми данными"),
    ("★★", "жалобу"),
    ("Да", "добавить"),
    ("Пропустить", "Чтобы подать жалобу"),
]


@pytest.fixture
async def bot(database_url: str, redis_url: str | None, seed: Seed) -> AsyncIterator[Running]:
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, "polling", free_port(), database_url, redis_url)
        async with running_app(settings, fake):
            yield Running(fake, "polling")


async def low_rating(citizen: FakeUser, token: str) -> None:
    """Rate a service with one star and ask to complain: the thank-you offers the filing."""
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="удовлетворены")
    await rate(citizen, LOW_RATING_RU)
    await citizen.press("☐ Грубость")
    await citizen.wait_for_message(containing="Что пошло не так")
    await rate(citizen, REST_RU)


async def complaints(session_factory: async_sessionmaker[AsyncSession]) -> list[Complaint]:
    async with session_factory() as session:
        return list(await session.scalars(select(Complaint).order_by(Complaint.id)))


async def test_a_low_rating_leads_to_a_filed_scrubbed_routed_complaint(
    bot: Running,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = bot.citizen(7101, language_code="ru")
    await low_rating(citizen, await make_invitation())
    await citizen.press("Подать жалобу")
    await citizen.wait_for_message(containing="На что вы жалуетесь")
    await citizen.press("Грубость")
    await citizen.wait_for_message(containing="Опишите одним сообщением")
    await citizen.send("Сотрудник нагрубил. Мой телефон +7 701 234 56 78, пишите")
    await citizen.wait_for_message(containing="Согласны получить ответ")
    await citizen.press("Да")
    filed = await citizen.wait_for_message(containing="Жалоба принята")

    [complaint] = await complaints(session_factory)
    assert complaint.status is ComplaintStatus.RECEIVED
    assert complaint.reference in (filed.plain_text or "")
    assert parse_reference(complaint.reference) == complaint.reference
    assert complaint.category is ComplaintCategory.RUDENESS
    assert complaint.consent_to_answer is True
    assert complaint.language == "ru"
    # routed to the service's agency and the office it was delivered at
    assert (complaint.agency_id, complaint.service_id, complaint.service_point_id) == (
        seed.agency.id,
        seed.service.id,
        seed.office.id,
    )
    assert complaint.text is not None and "Сотрудник нагрубил" in complaint.text
    assert "701" not in complaint.text and "56 78" not in complaint.text
    assert complaint.deadline is not None and complaint.received_at is not None
    assert complaint.deadline.strftime("%d.%m.%Y") in (filed.plain_text or "")
    async with session_factory() as session:
        [response] = list(await session.scalars(select(Response)))
        assert complaint.response_id == response.id
        statuses = list(await session.scalars(select(ComplaintStatusChange.status)))
        assert statuses == [ComplaintStatus.RECEIVED]
        request = (await session.scalars(select(ComplaintRequest))).one()
        assert request.status == "filed"

    # the citizen can ask where it stands; the same service cannot get a second complaint
    await citizen.send(f"/complaint {complaint.reference.lower()}")
    await citizen.wait_for_message(containing="принята")
    await citizen.press_data(f"cf:{response.id}")
    answer = await citizen.wait_callback_answer()
    assert "уже подана" in answer.get("text", "")
    await citizen.send("/complaint")
    await citizen.wait_for_message(containing="нет оценённых услуг")


async def test_complaint_command_lists_recent_services_and_bad_text_is_retried(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = bot.citizen(7102, language_code="ru")
    await citizen.send("/complaint")
    await citizen.wait_for_message(containing="нет оценённых услуг")
    await low_rating(citizen, await make_invitation())
    await citizen.send("/complaint")
    await citizen.wait_for_message(containing="На какую услугу")
    await citizen.press(citizen.messages[-1].buttons()[0])
    await citizen.wait_for_message(containing="На что вы жалуетесь")
    await citizen.press("Долгое ожидание")
    await citizen.wait_for_message(containing="Опишите")

    for typed, says in [
        ("😡😡😡 !!! 111", "нет слов"),
        ("\x07\x08\x1b", "Текст пустой"),
        ("排队时间太长了工作人员", "на казахском, русском или английском"),
        ("Очень долго " * 200, "не больше 2000"),
    ]:
        await citizen.send(typed)
        await citizen.wait_for_message(containing=says)
    [draft] = await complaints(session_factory)
    assert draft.status is ComplaintStatus.DRAFT and draft.text is None

    await citizen.send("Ждал\x00 в очереди три часа 😡")
    await citizen.wait_for_message(containing="Согласны")
    await citizen.press("Нет")
    await citizen.wait_for_message(containing="Статус можно узнать")
    [complaint] = await complaints(session_factory)
    assert complaint.text == "Ждал в очереди три часа 😡"
    assert complaint.consent_to_answer is False
    assert complaint.category is ComplaintCategory.WAITING_TIME


async def test_someone_elses_or_unknown_service_and_forged_references_are_refused(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    owner = bot.citizen(7103, language_code="ru")
    await low_rating(owner, await make_invitation())
    async with session_factory() as session:
        response_id = await session.scalar(select(Response.id))
    other = bot.citizen(7104, language_code="en")
    await other.press_data(f"cf:{response_id}")
    assert "not among your ratings" in (await other.wait_callback_answer()).get("text", "")
    await other.press_data("cf:999999")
    assert "not among your ratings" in (await other.wait_callback_answer()).get("text", "")
    await other.press_data("cf:not-a-number")
    assert "text" in await other.wait_callback_answer()
    await other.press_data("cc:1:rudeness")
    assert "no longer be changed" in (await other.wait_callback_answer()).get("text", "")
    for forged in ("Q-AAAAAAAA", "Q-0000", "'; drop table complaint; --", "Q-" + "A" * 500):
        await other.send(f"/complaint {forged}")
        await other.wait_for_message(containing="no complaint with that reference")

    # the owner's draft is theirs alone: a forged category on it is refused too
    await owner.press("Подать жалобу")
    await owner.wait_for_message(containing="На что вы жалуетесь")
    [draft] = await complaints(session_factory)
    await owner.press_data(f"cc:{draft.id}:bribery")
    assert "устарела" in (await owner.wait_callback_answer()).get("text", "")
    await other.press_data(f"cc:{draft.id}:rudeness")
    assert "no longer be changed" in (await other.wait_callback_answer()).get("text", "")
    await other.send(f"/complaint {draft.reference}")  # a draft's reference is not filed
    await other.wait_for_message(containing="no complaint with that reference")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Complaint)) == 1
        assert (await session.get(Complaint, draft.id)).category is None  # type: ignore[union-attr]


async def test_a_restart_that_loses_redis_resumes_the_draft(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, "polling", free_port(), database_url, redis_url)
        citizen = fake.user(7105, language_code="ru")
        async with running_app(settings, fake):
            await low_rating(citizen, token)
            await citizen.press("Подать жалобу")
            await citizen.wait_for_message(containing="На что вы жалуетесь")
            await citizen.press("Нарушен срок")
            await citizen.wait_for_message(containing="Опишите")
        if redis_url is not None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(redis_url)
            await client.flushdb()
            await client.aclose()
        async with running_app(settings, fake):
            # the FSM forgot that a text was awaited; the draft in the database did not
            await citizen.send("Справку обещали за 3 дня, жду две недели")
            await citizen.wait_for_message(containing="Согласны")
            await citizen.send("/complaint")  # resuming shows the step the draft is at
            await citizen.wait_for_message(containing="Продолжаем")
            await citizen.press("Да")
            await citizen.wait_for_message(containing="Жалоба принята")
    [complaint] = await complaints(session_factory)
    assert complaint.category is ComplaintCategory.DEADLINE_MISSED
    assert complaint.status is ComplaintStatus.RECEIVED


HIGH_RATING_RU = [
    ("★★★★★", "в установленный срок"),
    ("Да", "без обоснованной"),
    ("Нет", "документы"),
    ("Нет", "полный пакет"),
    ("Да", "вежливы"),
    ("★★★★", "понятной"),
    ("★★★★★", "Как вы получили"),
    ("В ЦОНе", "открытыми данными"),
    ("★★★", "добавить"),
]


async def test_a_survey_opened_while_a_complaint_waits_for_text_takes_the_typed_answer(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Typed text is routed by the chat's state: a survey card shown last has the chat, the
    complaint left waiting for its text does not take the survey's comment."""
    citizen = bot.citizen(7110, language_code="ru")
    await low_rating(citizen, await make_invitation())
    await citizen.press("Подать жалобу")
    await citizen.wait_for_message(containing="На что вы жалуетесь")
    await citizen.press("Грубость")
    await citizen.wait_for_message(containing="Опишите одним сообщением")
    await citizen.send(f"/start {await make_invitation()}")  # another service, rated now
    await citizen.wait_for_message(containing="удовлетворены")
    await rate(citizen, HIGH_RATING_RU)
    await citizen.send("Всё прошло быстро")
    await citizen.wait_for_message(containing="Спасибо")

    [complaint] = await complaints(session_factory)
    assert complaint.text is None  # still a draft, resumed with /complaint
    async with session_factory() as session:
        comments = await session.scalars(select(Answer.value).where(Answer.question == "comment"))
        assert "Всё прошло быстро" in list(comments)
