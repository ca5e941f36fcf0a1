"""Rating an open data set in Telegram, end to end: the whole app against the fake Bot API. A
data user finds a set with /data (agency, then part of its title) or opens its deep link, answers
the feedback survey by pressing buttons, reports a problem; the database keeps the rating's
metric columns and the report as a complaint about the data set, scrubbed, with a deadline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import (
    ComplaintStatus,
    ComplaintStatusChange,
    DatasetProblem,
    DatasetRating,
    RatingStatus,
    Response,
)
from tests.conftest import Seed
from tests.dataset_flow_fixtures import (
    Registry,
    add_finance_ministry,
    add_registry,
    ratings,
    reports,
)
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.test_telegram_bot import (
    HAPPY_PATH_KK,
    Running,
    answers_of,
    bot_settings,
    free_port,
    rate,
    running_app,
    stored,
)


@pytest.fixture
async def registry(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> Registry:
    return await add_registry(session_factory, seed)


@pytest.fixture
async def bot(
    database_url: str, redis_url: str | None, seed: Seed, registry: Registry
) -> AsyncIterator[Running]:
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, "polling", free_port(), database_url, redis_url)
        async with running_app(settings, fake):
            yield Running(fake, "polling")


async def find_schools_ru(user: FakeUser) -> None:
    await user.send("/data")
    await user.wait_for_message(containing="Выберите госорган")
    await user.press("Акимат города Алматы")
    await user.wait_for_message(containing="Напишите часть названия")
    await user.send("ШКОЛЫ алматы")
    await user.wait_for_message(containing="Найденные наборы данных")
    await user.press("Школы города Алматы")
    await user.wait_for_message(containing="Нашли ли вы")


async def test_a_data_user_finds_a_set_rates_it_and_reports_a_scrubbed_problem(
    bot: Running, registry: Registry, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = bot.citizen(7301, language_code="ru")
    await find_schools_ru(user)
    await rate(
        user,
        [
            ("Да", "полные"),
            ("Нет", "актуальны"),
            ("Да", "перепроверить"),
            ("Нет", "удовлетворены"),
            ("★★", "Есть ли проблема"),
            ("Не хватает полей", "Коротко опишите"),
        ],
    )
    [rating] = await ratings(session_factory)
    assert rating.status is RatingStatus.IN_PROGRESS  # each answer was stored as it came
    assert rating.answers == {
        "found": True,
        "complete": False,
        "current": True,
        "verifiable": False,
        "overall": 2,
        "problem": "missing_fields",
    }
    # an empty or oversize report is refused in the person's language; nothing is filed
    await user.send("   ")
    await user.wait_for_message(containing="нужен ответ")
    await user.send("нет адреса " * 300)
    await user.wait_for_message(containing="Текст слишком длинный")
    assert await reports(session_factory) == []

    await user.send("Нет столбца с адресом школы. Мой телефон +7 701 234 56 78")
    done = await user.wait_for_message(containing="Спасибо")
    match = re.search(r"Q-[A-Z2-7]{8}", done.plain_text or "")
    assert match is not None and "зарегистрировано" in (done.plain_text or "")

    [rating] = await ratings(session_factory)
    assert rating.status is RatingStatus.COMPLETED and rating.completed_at is not None
    assert (rating.found, rating.complete, rating.current, rating.verifiable) == (
        True,
        False,
        True,
        False,
    )
    assert rating.overall == 2 and rating.dataset_id == registry.schools.id
    assert rating.language == "ru" and rating.survey_id == "dataset_feedback"
    [report] = await reports(session_factory)
    assert report.reference == match.group(0)
    assert report.deadline is not None and report.deadline.strftime("%d.%m.%Y") in (
        done.plain_text or ""
    )
    assert (report.dataset_id, report.dataset_rating_id) == (registry.schools.id, rating.id)
    assert report.service_id is None and report.response_id is None
    assert report.agency_id == registry.schools.agency_id
    assert report.problem is DatasetProblem.MISSING_FIELDS
    assert report.status is ComplaintStatus.RECEIVED and report.consent_to_answer is True
    assert report.text is not None and "Нет столбца с адресом" in report.text
    assert "701" not in report.text and "56 78" not in report.text
    async with session_factory() as session:
        history = list(await session.scalars(select(ComplaintStatusChange.status)))
        assert history == [ComplaintStatus.RECEIVED]
        assert await session.scalar(select(func.count()).select_from(Response)) == 0

    # where the report stands, as for any complaint; an old button changes nothing
    await user.send(f"/complaint {report.reference}")
    await user.wait_for_message(containing="принята")
    await user.press_data(f"dv:{rating.id}:0:no")
    assert "text" in await user.wait_callback_answer()
    [again] = await ratings(session_factory)
    assert again.found is True


async def test_rating_the_same_set_twice_a_day_replaces_the_first(
    bot: Running, registry: Registry, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = bot.citizen(7302, language_code="en")
    await user.send("/start ds-ala_bus_routes")
    first = await user.wait_for_message(containing="Did you find")
    assert "Автобусные маршруты Алматы" in (first.plain_text or "")  # no English title: Russian
    await rate(
        user,
        [
            ("Yes", "complete"),
            ("Yes", "up to date"),
            ("Yes", "check them again"),
            ("Yes", "Overall"),
            ("★★★★★", "something wrong"),
            ("Skip", "Thank you"),
        ],
    )
    [rating] = await ratings(session_factory)
    assert (rating.status, rating.overall, rating.found) == (RatingStatus.COMPLETED, 5, True)

    await user.send("/start ds-ala_bus_routes")
    await user.wait_for_message(containing="replaces the earlier one")
    await rate(
        user,
        [
            ("No", "complete"),
            ("No", "up to date"),
            ("No", "check them again"),
            ("No", "Overall"),
            ("★", "something wrong"),
            ("Skip", "Thank you"),
        ],
    )
    [again] = await ratings(session_factory)  # one row: counted once
    assert again.id == rating.id
    assert (again.status, again.overall, again.found, again.verifiable) == (
        RatingStatus.COMPLETED,
        1,
        False,
        False,
    )
    assert await reports(session_factory) == []


async def test_a_bare_start_carries_on_an_unfinished_rating(
    bot: Running, registry: Registry, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = bot.citizen(7303, language_code="en")
    await user.send("/start")
    await user.wait_for_message(containing="Hello!")  # nothing open yet: the welcome
    await user.send("/start ds-ala_bus_routes")
    await user.wait_for_message(containing="Did you find")
    await user.press("Yes")
    await user.wait_for_message(containing="complete")
    await user.send("/start")
    resumed = await user.wait_for_message(containing="continue where you left off")
    assert "complete" in (resumed.plain_text or "")  # the question it stopped at, with buttons
    await rate(
        user,
        [
            ("Yes", "up to date"),
            ("Yes", "check them again"),
            ("Yes", "Overall"),
            ("★★★★", "something wrong"),
            ("Skip", "Thank you"),
        ],
    )
    [rating] = await ratings(session_factory)
    assert (rating.status, rating.overall, rating.found) == (RatingStatus.COMPLETED, 4, True)


async def test_unknown_withdrawn_and_stale_sets_are_refused_in_the_persons_language(
    bot: Running, registry: Registry, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kk = bot.citizen(7303, language_code="kk")
    await kk.send("/start ds-no_such_set")
    await kk.wait_for_message(containing="енді ешбір деректер жиынына апармайды")
    await kk.send("/start ds-ala_old_clinics")
    await kk.wait_for_message(containing="алып тастаған")
    await kk.send("/start ds-ala_parks_plan")
    await kk.wait_for_message(containing="әлі жарияланбаған")
    await kk.send("/start ds-" + "x" * 300)
    await kk.wait_for_message(containing="апармайды")
    await kk.send(f"/start ds-_{registry.withdrawn.id}")  # by id: the same refusal
    await kk.wait_for_message(containing="алып тастаған")
    await kk.send("/start ds-_99999999")
    await kk.wait_for_message(containing="апармайды")

    ru = bot.citizen(7304, language_code="ru")
    await ru.send("/data")
    await ru.wait_for_message(containing="Выберите госорган")
    await ru.press("Акимат города Алматы")
    await ru.wait_for_message(containing="Напишите часть названия")
    await ru.send("ш")
    await ru.wait_for_message(containing="хотя бы 2 буквы")
    await ru.send("поликлиники")  # withdrawn: not offered
    await ru.wait_for_message(containing="нет опубликованного набора")
    await ru.send("космодром")
    await ru.wait_for_message(containing="нет опубликованного набора")
    await ru.press_data(f"dk:{registry.withdrawn.id}")
    assert "снят госорганом" in (await ru.wait_callback_answer()).get("text", "")
    await ru.press_data("dk:999999")
    assert "нет в реестре" in (await ru.wait_callback_answer()).get("text", "")
    await ru.press_data("dg:999999")
    assert "устарела" in (await ru.wait_callback_answer()).get("text", "")
    await ru.press_data("dv:999999:0:yes")
    assert "устарела" in (await ru.wait_callback_answer()).get("text", "")
    assert await ratings(session_factory) == []

    # someone else's rating can't be answered; text outside any flow gets the usual word
    await find_schools_ru(ru)
    await ru.send("да")  # typed while the rating waits for a button: its question again
    again = await ru.wait_for_message(containing="нажмите кнопку под вопросом")
    assert "Нашли ли вы" in (again.plain_text or "") and "Да" in again.buttons()
    [rating] = await ratings(session_factory)
    en = bot.citizen(7305, language_code="en")
    await en.press_data(f"dv:{rating.id}:0:no")
    assert "out of date" in (await en.wait_callback_answer()).get("text", "")
    await en.send("hello")
    await en.wait_for_message(containing="no survey in progress")
    async with session_factory() as session:
        stored = await session.get(DatasetRating, rating.id)
        assert stored is not None and stored.answers == {}


async def test_a_search_left_open_does_not_take_a_service_surveys_typed_answer(
    bot: Running,
    registry: Registry,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user = bot.citizen(7306, language_code="kk")
    await user.send("/data")
    await user.wait_for_message(containing="Органды таңдаңыз")
    await user.press("Алматы қаласының әкімдігі")
    await user.wait_for_message(containing="атауының бір бөлігін")
    await user.send(f"/start {await make_invitation()}")  # a service survey instead
    await user.wait_for_message(containing="жалпы қаншалықты")
    await rate(user, HAPPY_PATH_KK[:-1])
    await user.send("Бәрі жақсы болды")  # the survey's comment, not a title
    await user.wait_for_message(containing="Рақмет")
    [response] = await stored(session_factory)
    assert (await answers_of(session_factory, response.id))["comment"] == "Бәрі жақсы болды"
    assert await ratings(session_factory) == []


async def test_data_lists_agencies_by_name_in_the_readers_language(
    bot: Running,
    registry: Registry,
    seed: Seed,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_finance_ministry(session_factory, registry)
    for user_id, lang, expected in (
        (7311, "kk", [seed.agency.name_kk, "Қаржы министрлігі"]),  # А before Қ in Kazakh
        (7312, "ru", [seed.agency.name_ru, "Министерство финансов"]),
        (7313, "en", [seed.agency.name_en, "Ministry of Finance"]),
    ):
        user = bot.citizen(user_id, language_code=lang)
        await user.send("/data")
        listed = await user.wait_for_message()
        assert listed.buttons() == expected, lang
