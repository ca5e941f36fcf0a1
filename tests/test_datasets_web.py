"""Rating an open data set on the mobile page: plain HTTP for what a person might send (stale
links, withdrawn sets, empty and oversize reports, someone else's rating), and a phone-sized
headless Chromium for the flow a person taps through: find the set by agency and title, rate
it, report a problem, rate it again the same day."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages
from core.complaints import answer
from core.models import Channel, Complaint, ComplaintStatus, DatasetProblem, RatingStatus
from tests.conftest import Seed
from tests.dataset_flow_fixtures import (
    Registry,
    add_finance_ministry,
    add_registry,
    build_dataset_web_app,
    ratings,
    reports,
    running_dataset_web_app,
)
from tests.served import served
from tests.test_web_browser import (  # noqa: F401 (fixtures)
    browser,
    chromium,
    fits_the_screen,
    phone,
    press,
    rate,
    shoot,
    tap_answer,
)


@pytest.fixture
async def registry(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> Registry:
    return await add_registry(session_factory, seed)


async def test_stale_withdrawn_and_unknown_sets_are_refused_in_the_visitors_language(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry
) -> None:
    async with running_dataset_web_app(session_factory) as app:
        kk = app.citizen("kk-KZ")
        stale = await kk.open("/d/no_such_set")
        assert stale.status == 404
        assert stale.heading == messages.text("web_dataset_link_stale", "kk")
        withdrawn = await kk.open("/d/ala_old_clinics")
        assert withdrawn.status == 410 and "алып тастаған" in withdrawn.heading
        planned = await kk.open("/d/ala_parks_plan")
        assert planned.status == 404 and "әлі жарияланбаған" in planned.heading
        assert (await kk.open("/d/" + "x" * 500)).status == 404
        # a Start for a withdrawn set, a forged rating ref, a service survey's ref: refused
        refused = await kk.post("/d/ala_old_clinics", [("csrf", "x")])
        assert refused.status == 403
        assert (await kk.open("/dr/ds1.forged")).status == 404
        assert (await kk.open("/dr/1.AAAAAAAAAAAAAAAA")).status == 404

        ru = app.citizen("ru-RU")
        find = await ru.open("/d?agency=ALA&q=%D1%88")  # one letter
        assert find.status == 200 and find.error == messages.text("dataset_search_short", "ru")
        none = await ru.open("/d?agency=ALA&q=поликлиники")  # withdrawn: not offered
        assert none.error is not None and "нет опубликованного набора" in none.error
        found = await ru.open("/d?agency=ALA&q=маршруты")
        assert [link.text for link in found.links if link.attrs.get("href") == "/d/ala_bus_routes"]
        assert (await ru.open("/d?agency=NOPE&q=маршруты")).error is None  # no such agency
    assert await ratings(session_factory) == []


async def test_an_empty_or_oversize_report_is_refused_and_nothing_is_filed(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry
) -> None:
    async with running_dataset_web_app(session_factory) as app:
        user = app.citizen("en-GB")
        landing = await user.open("/d/ala_schools_2026")
        assert landing.status == 200 and landing.heading == "Schools of Almaty"
        page = await user.post(landing.action, [("csrf", landing.hidden("csrf") or "")])
        assert page.path.startswith("/dr/") and page.question == "found"
        for value in ("yes", "yes", "no", "yes"):
            page = await user.answer(value)
        page = await user.answer("3")
        assert page.question == "problem"
        page = await user.answer("not_a_problem_kind")
        assert page.error == messages.text("choose_offered", "en")
        page = await user.answer("wrong_values")
        assert page.question == "problem_text"
        page = await user.answer("   ")
        assert page.error == messages.text("answer_required", "en")
        page = await user.answer("x" * 2001)
        assert page.error is not None and "too long" in page.error
        assert await reports(session_factory) == []

        # someone else's browser can neither see nor answer it
        other = app.citizen("en-GB")
        assert (await other.open(page.path)).status == 403
        forged = await other.post(page.path, [("csrf", "x"), ("question", "problem_text")])
        assert forged.status == 403

        page = await user.answer("The totals column sums to the wrong number; call 87012345678")
        assert 'Reference: <span class="reference">Q-' in page.html
    [rating] = await ratings(session_factory)
    assert (rating.status, rating.overall, rating.current, rating.verifiable) == (
        RatingStatus.COMPLETED,
        3,
        False,
        True,
    )
    assert rating.channel is Channel.WEB
    [report] = await reports(session_factory)
    assert report.problem is DatasetProblem.WRONG_VALUES
    assert report.status is ComplaintStatus.RECEIVED
    assert report.consent_to_answer is False  # no chat to write back to from the web
    assert report.text is not None and "87012345678" not in report.text


@pytest.fixture
async def base_url(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry
) -> AsyncIterator[str]:
    async with served(build_dataset_web_app(session_factory)) as url:
        yield url


@pytest.mark.browser
async def test_a_data_user_finds_rates_and_reports_on_a_phone_then_rates_again(
    browser: Browser,  # noqa: F811
    base_url: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    page = await phone(browser, locale="ru-RU")
    await page.goto(f"{base_url}/d")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await page.get_by_label("Госорган").select_option(label="Акимат города Алматы")
    await press(page, "Показать наборы")  # no typing: every published set of the agency
    await expect(page.get_by_role("link", name="Автобусные маршруты Алматы")).to_be_visible()
    await expect(page.get_by_role("link", name="Школы города Алматы")).to_be_visible()
    await page.get_by_label("Часть названия").fill("школы")
    await press(page, "Показать наборы")
    await expect(page.get_by_role("link", name="Автобусные маршруты Алматы")).to_have_count(0)
    assert await fits_the_screen(page)
    await shoot(page, "dataset-find-ru.png")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Школы города Алматы").tap()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Школы города Алматы")
    # the header names a data-set rating; the intro's count is the progress's
    await expect(page.locator(".brand")).to_have_text("Оценка открытых данных")
    await expect(page.get_by_text("Не больше 7 коротких вопросов", exact=False)).to_be_visible()
    await press(page, "Оценить")
    await expect(page.get_by_text("Вопрос 1 из 7")).to_be_visible()
    await shoot(page, "dataset-question-ru.png")
    for choice in ("Да", "Нет", "Нет", "Да"):
        await press(page, choice)
    await rate(page, 2, "ru")
    await page.get_by_text("Данные устарели", exact=True).tap()
    await tap_answer(page, "ru")
    await expect(page.get_by_text("Вопрос 7 из 7")).to_be_visible()
    await tap_answer(page, "ru")  # empty
    await expect(page.get_by_role("alert")).to_have_text(messages.text("answer_required", "ru"))
    await page.get_by_label("Коротко опишите проблему.").fill("Последнее обновление — 2023 год")
    await tap_answer(page, "ru")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Спасибо! Ваша оценка учитывается при оценке открытости государственного органа."
    )
    await expect(page.locator("#case-filed")).to_contain_text("Номер: Q-")
    await expect(page.get_by_role("status")).to_have_text("Текущий статус: принята.")
    await shoot(page, "dataset-thanks-ru.png")

    [first] = await ratings(session_factory)
    assert (first.found, first.complete, first.current, first.verifiable, first.overall) == (
        True,
        False,
        False,
        True,
        2,
    )
    [report] = await reports(session_factory)
    assert report.problem is DatasetProblem.OUTDATED
    assert report.text == "Последнее обновление — 2023 год"

    # the same set again the same day, in Kazakh: the rating is replaced, counted once
    await page.goto(f"{base_url}/d/ala_schools_2026?lang=kk")
    await press(page, "Бағалау")
    await expect(page.get_by_text("Сұрақ 1/7")).to_be_visible()
    for choice in ("Иә", "Иә", "Иә", "Иә"):
        await press(page, choice)
    await rate(page, 5, "kk")
    await press(page, "Өткізіп жіберу")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Рақмет!")
    [again] = await ratings(session_factory)
    assert again.id == first.id and again.overall == 5 and again.language == "kk"
    assert len(await reports(session_factory)) == 1  # the first report stays filed


async def test_a_data_user_reads_the_answer_to_their_report_and_rates_it(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry
) -> None:
    async with running_dataset_web_app(session_factory) as app:
        user = app.citizen("ru-RU")
        landing = await user.open("/d/ala_schools_2026")
        page = await user.post(landing.action, [("csrf", landing.hidden("csrf") or "")])
        for value in ("yes", "yes", "no", "yes", "2", "outdated"):
            page = await user.answer(value)
        page = await user.answer("Данные за 2023 год")
        here = page.path
        assert messages.text("web_complaint_answer_here", "ru") in page.html
        [report] = await reports(session_factory)
        async with session_factory() as session:
            stored = await session.get(Complaint, report.id)
            assert stored is not None
            answer(session, stored, "Обновили набор до 2026 года.", "staff@agency.kz")
            await session.commit()
        page = await user.open(here)
        assert "Обновили набор до 2026 года." in page.html
        assert messages.text("complaint_status_answered", "ru") in page.html
        [form] = [f for f in page.forms if f.attrs.get("action", "").endswith("/report")]
        csrf = [i.attrs["value"] for i in page.inputs if i.attrs.get("name") == "csrf"][-1]
        rated = await user.post(form.attrs["action"], [("csrf", csrf), ("rating", "5")])
        assert rated.path == here
        assert rated.contains(messages.text("web_complaint_rated", "ru", rating=5))
    async with session_factory() as session:
        assert (await session.get(Complaint, report.id)).answer_rating == 5  # type: ignore[union-attr]


async def test_a_data_user_browses_an_agencys_sets_without_typing_in_name_order(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry, seed: Seed
) -> None:
    await add_finance_ministry(session_factory, registry)
    async with running_dataset_web_app(session_factory) as app:
        for lang, first, second in (
            ("kk", seed.agency.name_kk, "Қаржы министрлігі"),  # А before Қ in Kazakh
            ("ru", seed.agency.name_ru, "Министерство финансов"),
        ):
            user = app.citizen(lang)
            find = await user.open("/d")
            names = re.findall(
                r"<option value=\"[^\"]*\"(?: selected)?>([^<]+)</option>", find.html
            )
            assert names.index(first) < names.index(second), names
            listed = await user.open("/d?agency=ALA")
            titles = [link.text for link in listed.links if link.attrs["href"].startswith("/d/")]
            expected = {
                "kk": ["Автобус бағыттары", "Алматы қаласының мектептері"],
                "ru": ["Автобусные маршруты Алматы", "Школы города Алматы"],
            }[lang]
            assert titles == expected  # all published sets, none withdrawn or planned
            assert listed.error is None
