"""The complaint summary in headless Chromium: an analyst goes from the agency page to its
week, switches to the month, downloads the workbook and reads it back, prints the page; an
agency user reads its own summary on a phone. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from openpyxl import load_workbook
from playwright.async_api import Browser, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import AdminUser
from tests.admin_fixtures import (
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    Clock,
    admin_settings,
    build_admin_server_app,
    populate,
)
from tests.complaint_frames import personal_strings
from tests.conftest import Seed
from tests.summary_fixtures import NOW
from tests.test_admin_browser import browser, download, laptop, phone, shoot, sign_in
from tests.test_admin_summaries import _corpus
from tests.test_web_browser import artifact, fits_the_screen

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture, shared with the other admin browser tests


@pytest.fixture
async def base_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    """The admin with the kk/ru corpus filed, its clock on Monday 30 November 2026."""
    await populate(session_factory, seed)
    await _corpus(session_factory, seed)
    async with session_factory() as session:
        await session.execute(
            update(AdminUser).values(password_changed_at=NOW - timedelta(days=30))
        )
        await session.commit()
    clock = Clock()
    clock.now = NOW
    runner = web.AppRunner(build_admin_server_app(admin_settings(), session_factory, clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_an_analyst_opens_downloads_and_prints_an_agencys_summary(
    browser: Browser, base_url: str
) -> None:
    page = await laptop(browser)
    await sign_in(page, base_url, ANALYST_EMAIL)
    await page.goto(f"{base_url}/admin/agencies/ALA")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Сводка жалоб").click()
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Сводка жалоб: Акимат города Алматы")
    await expect(page.locator(".lead")).to_contain_text("Неделя · 23–29 нояб. 2026 г.")
    await expect(page.locator(".kpi-value").first).to_have_text("76")
    await expect(page.locator("#h-over + p + .scroll tbody tr")).to_have_count(1)
    await expect(page.locator("blockquote.quote").first).to_be_visible()
    body = await page.locator("main").inner_text()
    for secret in personal_strings():
        assert secret not in body
    await shoot(page, "summary-week-ru")

    workbook = load_workbook(io.BytesIO(await download(page, "a[href*='download=xlsx']")))
    assert workbook.sheetnames[0] == "Основные показатели"
    figures = {
        row[0]: row[1] for row in workbook["Основные показатели"].iter_rows(values_only=True)
    }
    assert figures["Жалоб"] == 76
    offices = dict(
        (row[0], row[1]) for row in workbook["По отделениям"].iter_rows(min_row=2, values_only=True)
    )
    assert offices == {"ЦОН №1": 46, "ЦОН №2": 30}

    await page.locator("select[name=kind]").select_option("monthly")
    await page.locator("select[name=start]").select_option("2026-11-23")  # a week's Monday
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(page.locator(".lead")).to_contain_text("Месяц · 1–30 нояб. 2026 г.")
    # November holds the corpus and three of the four ordinary weeks before it (3 × 8)
    await expect(page.locator(".kpi-value").first).to_have_text("100")

    await page.emulate_media(media="print")
    await expect(page.locator("form.filters")).to_be_hidden()
    await page.screenshot(path=artifact("admin-summary-print-ru.png"), full_page=True)
    pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    await page.emulate_media(media="screen")


async def test_an_agency_user_reads_its_summary_on_a_phone(browser: Browser, base_url: str) -> None:
    page = await phone(browser)
    await sign_in(page, base_url, AGENCY_EMAIL)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Сводки жалоб").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Сводка жалоб: Акимат города Алматы"
    )
    assert await page.locator("select[name=agency]").count() == 0
    assert await fits_the_screen(page)
    await shoot(page, "summary-agency-phone")
