"""An analyst and an agency user read the open-data pages in headless Chromium: from the agency's
page to its data-set table, sort it, export it as CSV and read it back; the national page of
trusted sets on a phone, in Kazakh. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from tests.admin_fixtures import (
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    Clock,
    admin_settings,
    build_admin_server_app,
    populate,
)
from tests.conftest import Seed
from tests.dataset_fixtures import add_dataset, add_respondent, rating
from tests.served import served
from tests.test_admin_browser import browser, download, laptop, phone, shoot, sign_in
from tests.test_web_browser import fits_the_screen

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, shared with the other admin browser tests


@pytest.fixture
async def datasets_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    world = await populate(session_factory, seed)
    day = reporting_day(utcnow()) - timedelta(days=2)
    async with session_factory() as db:
        kindergartens = await add_dataset(db, seed.agency, "ALA-1", "Детские сады")
        schools = await add_dataset(db, seed.agency, "ALA-2", "Школы")
        housing = await add_dataset(db, world.astana, "AST-1", "Жильё в Астане")
        for i in range(120):
            person = await add_respondent(db, f"b{i}")
            db.add(rating(kindergartens, day, 5 if i < 100 else 3, i < 60, person))
            db.add(rating(schools, day, 4, i < 110, person))
            db.add(rating(housing, day, 2, i < 30, person))
        await db.commit()
    async with served(build_admin_server_app(admin_settings(), session_factory, Clock())) as url:
        yield url


async def test_an_agency_user_opens_sorts_and_exports_its_data_sets(
    browser: Browser, datasets_url: str
) -> None:
    page = await laptop(browser)
    await sign_in(page, datasets_url, AGENCY_EMAIL)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Наборы открытых данных").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Наборы открытых данных")
    table = page.locator("table.data")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await expect(page.get_by_text("Жильё в Астане")).to_have_count(0)
    # sort by "could re-check", highest first: schools (110 of 120) above kindergartens (60)
    async with page.expect_navigation():
        await table.get_by_role("link", name="Можно проверить").click()
    await expect(table.locator("tbody tr").first).to_contain_text("Школы")
    await expect(table.locator("tbody tr").first).to_contain_text("91,7")
    await shoot(page, "datasets-ru")
    body = await download(page, "a:text('CSV')")
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Набор данных", "Состояние"]
    assert [row[0] for row in rows[1:]] == ["Школы", "Детские сады"]


async def test_an_analyst_reads_the_trusted_sets_on_a_phone_in_kazakh(
    browser: Browser, datasets_url: str
) -> None:
    page = await phone(browser)
    await sign_in(page, datasets_url, ANALYST_EMAIL)
    await page.goto(f"{datasets_url}/admin/datasets?days=30")
    async with page.expect_navigation():
        await page.locator("form.langs button[value=kk]").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ең сенімді және ең аз сенімді деректер жинақтары"
    )
    first = page.locator("section").filter(has_text="Ең сенімді").first
    await expect(first.locator("tbody tr").first).to_contain_text("Школы")
    await expect(page.get_by_text("Жильё в Астане").first).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, "datasets-national-phone")
