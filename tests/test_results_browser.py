"""A citizen on a phone-sized headless Chromium (390×844) reads the public results in Kazakh,
Russian and English: the whole country, then an agency (its published scores explained), then
one of its offices, by tapping what they see; every page is in their language, fits the screen
and says "not enough ratings" where the figures are too few. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from results import words
from results.pages import setup_results
from tests.admin_fixtures import populate
from tests.conftest import Seed
from tests.ranking_fixtures import PERIOD, add_scored_year, publish_scored_year
from tests.served import served
from tests.test_web_browser import browser, chromium, fits_the_screen, phone, shoot  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
async def results_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    await populate(session_factory, seed)
    await publish_scored_year(session_factory, await add_scored_year(session_factory))
    app = web.Application()
    setup_results(app, session_factory)
    async with served(app) as url:
        yield url


async def tap_link(page: Page, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("link", name=name, exact=True).first.tap()


LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}
ALMATY = {"kk": "Алматы қаласының әкімдігі", "ru": "Акимат города Алматы", "en": "Akimat of Almaty"}
MINISTRY = {"kk": "Әділет министрлігі", "ru": "Министерство юстиции", "en": "Ministry of Justice"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_a_citizen_reads_the_public_results_on_a_phone(
    browser: Browser,  # noqa: F811
    results_url: str,
    seed: Seed,
    lang: str,
) -> None:
    def say(key: str, **params: object) -> str:
        return words.say(key, lang, **params)

    page = await phone(browser, locale=LOCALES[lang])
    await page.goto(f"{results_url}/results")  # the browser's language picks the page's
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_have_text(say("national_title"))
    await expect(page.get_by_role("heading", name=say("satisfied_title"))).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, f"results-national-{lang}.png")

    await tap_link(page, ALMATY[lang])
    await expect(page.get_by_role("heading", level=1)).to_have_text(ALMATY[lang])
    await expect(page.get_by_role("heading", name=say("notes_title"))).to_be_visible()
    assert await fits_the_screen(page)

    await tap_link(page, seed.office.name(lang))
    await expect(page.get_by_role("heading", level=1)).to_have_text(seed.office.name(lang))
    await expect(page.get_by_text(say("kind_office"), exact=True)).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, f"results-office-{lang}.png")

    await tap_link(page, say("nav_national"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(say("national_title"))
    # the ministry's published scores are of the scored year, which has no survey this year
    await page.goto(f"{results_url}/results/agencies/MJ?lang={lang}&year={PERIOD}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(MINISTRY[lang])
    scores = page.get_by_role("heading", name=say("scores_title"))
    await expect(scores).to_be_visible()
    how = page.get_by_text(say("col_how"), exact=True).first
    await expect(how).to_be_visible()
    await how.tap()  # the explanation opens under the figure
    await expect(page.locator("details[open] code").first).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, f"results-agency-{lang}.png")

    other = "ru" if lang != "ru" else "kk"
    await tap_link(page, words.LANGUAGE_NAMES[other])
    await expect(page.locator("html")).to_have_attribute("lang", other)
    await expect(page.get_by_role("heading", level=1)).to_have_text(MINISTRY[other])
