"""The real bot, end to end: the whole app (`qanagat.app.build_app`) runs against the fake
Telegram Bot API, in polling mode and in webhook mode, and a citizen completes a survey by
pressing buttons as they would on their phone. Then we read what the database kept."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from core.models import (
    Answer,
    Channel,
    ChatAddress,
    ComplaintRequest,
    Respondent,
    Response,
    ResponseStatus,
)
from core.settings import Settings
from core.walk_ins import OfficeCodes
from qanagat.app import build_app
from tests.conftest import SURVEYS, Seed
from tests.fake_telegram import FakeTelegram, FakeUser

TOKEN = "100000:TEST-TOKEN"
SECRET = "test-secret-key-0123456789"
WEBHOOK_SECRET = "s3cret-Token_1-for-tests-0123456789ab"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Running:
    fake: FakeTelegram
    mode: str

    def citizen(self, user_id: int = 7001, language_code: str = "kk") -> FakeUser:
        return self.fake.user(user_id, language_code=language_code)


def poster_payload(office_code: str, day: date | None = None) -> str:
    """The deep-link payload of an office's poster for `day` (today)."""
    return OfficeCodes(SECRET.encode()).payload(office_code, day or reporting_day(utcnow()))


def bot_settings(
    fake: FakeTelegram, mode: str, port: int, database_url: str, redis_url: str | None
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SECRET,  # type: ignore[arg-type]
        public_url=f"http://127.0.0.1:{port}",
        port=port,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_mode=mode,
        telegram_webhook_secret=WEBHOOK_SECRET,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def running_app(settings: Settings, fake: FakeTelegram) -> AsyncIterator[None]:
    """The whole app (`build_app`), served on its port until the block ends."""
    fake.webhook_url = None
    runner = web.AppRunner(build_app(settings, surveys=SURVEYS))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    try:
        if settings.telegram_mode == "webhook":
            await fake.wait_for(lambda: fake.webhook_url is not None, what="setWebhook")
            assert fake.webhook_secret == WEBHOOK_SECRET
        yield
    finally:
        await runner.cleanup()


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest, database_url: str, redis_url: str | None, seed: Seed
) -> AsyncIterator[Running]:
    """The whole app with the bot, in both modes; Redis when the test run has one."""
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, request.param, free_port(), database_url, redis_url)
        async with running_app(settings, fake):
            yield Running(fake, request.param)


async def press_and_wait(user: FakeUser, label: str, containing: str | None = None) -> str:
    await user.press(label)
    message = await user.wait_for_message(containing=containing)
    return message.plain_text or ""


async def rate(user: FakeUser, script: list[tuple[str, str | None]]) -> None:
    """Press each button in turn; after each, wait for the card to show `expect`."""
    for label, expect in script:
        await press_and_wait(user, label, expect)


async def stored(
    session_factory: async_sessionmaker[AsyncSession],
) -> list[Response]:
    async with session_factory() as session:
        return list(await session.scalars(select(Response).order_by(Response.id)))


async def answers_of(
    session_factory: async_sessionmaker[AsyncSession], response_id: int
) -> dict[str, object]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Answer.question, Answer.value).where(Answer.response_id == response_id)
        )
        return dict(rows.all())


HAPPY_PATH_KK = [
    ("★★★★★", "мерзімде"),
    ("Иә", "негізсіз"),
    ("Жоқ", "стандартында"),
    ("Жоқ", "толық пакет"),
    ("Иә", "сыпайы"),
    ("★★★★", "түсінікті"),
    ("★★★★★", "қалай алдыңыз"),
    ("eGov арқылы онлайн", "ашық деректерге"),
    ("★★★", "міндетті емес"),
    ("Өткізіп жіберу", "Рақмет"),
]


async def test_citizen_rates_a_service_in_kazakh(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    citizen = bot.citizen(language_code="kk")
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="жалпы қаншалықты")  # Telegram said kk
    await rate(citizen, HAPPY_PATH_KK)

    [response] = await stored(session_factory)
    assert response.status is ResponseStatus.COMPLETED
    assert response.channel is Channel.TELEGRAM
    assert response.language == "kk"
    assert response.survey_id == "post_service"
    assert response.survey_version == SURVEYS["post_service"].version
    assert response.walk_in is False
    assert await answers_of(session_factory, response.id) == {
        "overall": 5,
        "deadline_met": True,
        "refused": False,
        "extra_documents": False,
        "full_package": True,
        "staff": 4,
        "clarity": 5,
        "received_via": "egov",
        "info_quality": 3,
        "comment": None,
    }


async def test_low_rating_in_russian_with_reasons_comment_and_complaint_request(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    citizen = bot.citizen(7002, language_code="ru")
    await citizen.send(f"/start {token}")
    first = await citizen.wait_for_message(containing="удовлетворены")
    assert "Вопрос 1 из 12" in (first.plain_text or "")
    low = await press_and_wait(citizen, "★", "Что пошло не так")
    assert "Вопрос 2 из 12" in low  # counted from the start: a low rating adds nothing
    await citizen.press("☐ Долгое ожидание")
    await citizen.wait_for_message(containing="Что пошло не так")
    await citizen.press("☐ Грубость")
    await citizen.wait_for_message()
    await rate(
        citizen,
        [
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
        ],
    )
    await citizen.send("Очередь   была \x07очень долгой")
    thanks = await citizen.wait_for_message(containing="Спасибо")
    assert "жалоб" in (thanks.plain_text or "")
    # Only the live card ever has buttons: the one answered by typing lost its "Skip"; the
    # thank-you offers filing the complaint.
    assert [m.buttons() for m in citizen.messages] == [[], ["Подать жалобу"]]

    [response] = await stored(session_factory)
    answers = await answers_of(session_factory, response.id)
    assert answers["reasons"] == ["waiting_time", "rudeness"]
    assert answers["complaint"] is True
    assert answers["comment"] == "Очередь   была очень долгой"
    assert response.status is ResponseStatus.COMPLETED
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ComplaintRequest)) == 1


async def test_respondent_holds_no_telegram_identity_and_stop_forgets_the_chat(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    citizen = bot.citizen(555_000_111, language_code="en")
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="Overall")
    await rate(citizen, [("★★★★", "on time")])
    async with session_factory() as session:
        respondent = (await session.scalars(select(Respondent))).one()
        assert "555000111" not in respondent.key
        address = (await session.scalars(select(ChatAddress))).one()
        assert b"555000111" not in address.encrypted_address
    await citizen.send("/stop")
    await citizen.wait_for_message(containing="deleted")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAddress)) == 0
        [response] = list(await session.scalars(select(Response)))
        assert response.status is ResponseStatus.STOPPED
        assert response.respondent_id is None
        assert await session.scalar(select(func.count()).select_from(Answer)) == 1


async def test_the_same_update_delivered_twice_stores_one_answer(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    citizen = bot.citizen(7003, language_code="en")
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="Overall")
    update = await citizen.press("★★★★")
    await citizen.wait_for_message(containing="on time")
    await bot.fake.send_update(update)  # Telegram retries the very same update
    await bot.fake.send_update({**update, "update_id": update["update_id"] + 10_000})
    await citizen.wait_for_message(containing="already answered")
    [response] = await stored(session_factory)
    assert await answers_of(session_factory, response.id) == {"overall": 4}


async def test_the_link_continues_its_survey_on_another_device_until_it_is_completed(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    owner = bot.citizen(7004, language_code="ru")
    await owner.send(f"/start {token}")
    await owner.wait_for_message(containing="удовлетворены")
    await rate(owner, [("★★★★", "срок")])

    # The same link on another device (another Telegram account): the survey carries on
    # where it stopped, not "already rated".
    other = bot.citizen(7005, language_code="ru")
    await other.send(f"/start {token}")
    continued = await other.wait_for_message(containing="срок")
    assert "Вопрос 2 из" in (continued.plain_text or "")

    await owner.send(f"/start {token}")  # back on the first device: carry on there
    resumed = await owner.wait_for_message(containing="Вопрос 2 из")
    assert "срок" in (resumed.plain_text or "")
    await owner.send("/start")
    await owner.wait_for_message(containing="Продолжаем")
    responses = await stored(session_factory)
    assert len(responses) == 1
    assert await answers_of(session_factory, responses[0].id) == {"overall": 4}


async def test_after_stop_the_link_continues_the_survey_where_it_stopped(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    citizen = bot.citizen(7007, language_code="ru")
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="удовлетворены")
    await rate(citizen, [("★★★★", "срок")])
    await citizen.send("/stop")
    await citizen.wait_for_message(containing="удален")

    await citizen.send(f"/start {token}")  # the pseudonym is gone, the link is not
    continued = await citizen.wait_for_message(containing="Вопрос 2 из")
    assert "срок" in (continued.plain_text or "")
    responses = await stored(session_factory)
    assert [r.status for r in responses] == [ResponseStatus.IN_PROGRESS]
    assert await answers_of(session_factory, responses[0].id) == {"overall": 4}


async def test_bad_input_gets_a_clear_answer_in_the_citizens_language(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = bot.citizen(7006, language_code="ru")
    await citizen.send("/start forged-token-that-does-not-exist")
    await citizen.wait_for_message(containing="недействительна")
    await citizen.send("/start o-NO-SUCH-OFFICE")
    await citizen.wait_for_message(containing="QR-код устарел")
    await citizen.send("/frobnicate")
    await citizen.wait_for_message(containing="Такой команды нет")
    await citizen.send_sticker()
    await citizen.wait_for_message(containing="только текст и кнопки")
    await citizen.send_photo()
    await citizen.wait_for_message(containing="только текст и кнопки")
    await citizen.send_voice()
    await citizen.wait_for_message(containing="только текст и кнопки")
    await citizen.send("привет")
    await citizen.wait_for_message(containing="нет активного опроса")
    await citizen.press_data("a:999999:0:5", 1)  # forged callback data
    answer = await citizen.wait_callback_answer()
    assert "устарела" in answer.get("text", "")
    await citizen.press_data("a:not-a-number", 1)
    answer = await citizen.wait_callback_answer()
    assert "устарела" in answer.get("text", "")

    token = await make_invitation()
    await citizen.send(f"/start {token}")
    await citizen.wait_for_message(containing="удовлетворены")
    await citizen.send("\x00\x01" + "я" * 5000)  # huge, control characters, not a button
    await citizen.wait_for_message(containing="нажмите кнопку")
    [response] = await stored(session_factory)
    await citizen.press_data(f"a:{response.id}:0:9", None)  # out of range, forged
    answer = await citizen.wait_callback_answer()
    assert answer is not None
    assert await answers_of(session_factory, response.id) == {}


async def test_an_office_qr_code_starts_a_walk_in_response(
    bot: Running, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    citizen = bot.citizen(7007, language_code="ru")
    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    await citizen.wait_for_message(containing="Какую услугу")
    await citizen.press(seed.service.name_ru)  # no language chosen yet: Telegram says ru
    await citizen.wait_for_message(containing="удовлетворены")
    [response] = await stored(session_factory)
    assert response.walk_in is True
    assert response.service_point_id == seed.office.id
    assert response.service_event_id is None


async def test_a_new_citizen_is_asked_for_a_language_only_when_telegram_does_not_tell_one(
    bot: Running,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    told = bot.citizen(7011, language_code="ru-RU")
    await told.send(f"/start {await make_invitation()}")
    first = await told.wait_for_message(containing="удовлетворены")
    assert "Выберите язык" not in (first.plain_text or "")
    untold = bot.citizen(7012, language_code="de")
    await untold.send(f"/start {await make_invitation()}")
    await untold.wait_for_message(containing="Choose a language")
    await press_and_wait(untold, "English", "Overall")
    async with session_factory() as session:
        languages = {r.language for r in await session.scalars(select(Respondent))}
        assert languages == {"ru", "en"}  # kept: later invitations speak it too
    assert [r.language for r in await stored(session_factory)] == ["ru", "en"]


async def test_help_and_a_language_change(
    bot: Running, make_invitation: Callable[..., Awaitable[str]]
) -> None:
    citizen = bot.citizen(7008, language_code="kk")
    await citizen.send("/help")
    await citizen.wait_for_message(containing="/stop")
    await citizen.send("/lang")
    await citizen.wait_for_message(containing="Choose a language")
    await citizen.press("English")
    await citizen.wait_for_message(containing="Language: English")
    await citizen.send("/help")
    await citizen.wait_for_message(containing="forgets you")


async def test_a_restart_that_loses_redis_resumes_at_the_next_question(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    async with FakeTelegram() as fake:
        port = free_port()
        settings = bot_settings(fake, "polling", port, database_url, redis_url)
        citizen = fake.user(7010, language_code="kk")
        async with running_app(settings, fake):
            await citizen.send(f"/start {token}")
            await citizen.wait_for_message(containing="жалпы")
            await rate(citizen, [("★★★★★", "мерзімде"), ("Иә", "негізсіз")])
        if redis_url is not None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(redis_url)
            await client.flushdb()  # everything Redis held is gone
            await client.aclose()
        async with running_app(settings, fake):
            await citizen.send("/start")
            card = await citizen.wait_for_message(containing="Тоқтаған жерден")
            assert "негізсіз" in (card.plain_text or "")
            assert "Сұрақ 3/10" in (card.plain_text or "")
            await rate(citizen, [("Жоқ", "стандартында")])
    [response] = await stored(session_factory)
    assert await answers_of(session_factory, response.id) == {
        "overall": 5,
        "deadline_met": True,
        "refused": False,
    }
