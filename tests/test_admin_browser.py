"""People use the admin in headless Chromium, on a laptop and on a phone: sign in, read the
overview, find an agency, export its tables as CSV and XLSX and read them back, switch the
language, change the password, sign out. Screenshots of every page go to tests/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin_fixtures import (
    ADMIN_EMAIL,
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    PASSWORD,
    Clock,
    admin_settings,
    build_admin_server_app,
    populate,
)
from tests.conftest import Seed
from tests.test_web_browser import CHROMIUM, CHROMIUM_ARGS, artifact, fits_the_screen

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def base_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    """The admin on a real port of this machine, in the test's own event loop."""
    await populate(session_factory, seed)
    runner = web.AppRunner(build_admin_server_app(admin_settings(), session_factory, Clock()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def laptop(browser: Browser) -> Page:
    context = await browser.new_context(viewport=LAPTOP, locale="ru-RU", accept_downloads=True)
    return await context.new_page()


async def phone(browser: Browser) -> Page:
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="kk-KZ"
    )
    return await context.new_page()


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=artifact(f"admin-{name}.png"), full_page=True)
    if name.endswith("-phone"):  # what the first screen shows, at a size one can read
        await page.screenshot(path=artifact(f"admin-{name}-screen.png"))


async def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/admin/")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    async with page.expect_navigation():
        await page.locator("form.stack button[type=submit]").click()


async def download(page: Page, link: str) -> bytes:
    async with page.expect_download() as info:
        await page.locator(link).click()
    path = await (await info.value).path()
    return await asyncio.to_thread(Path(path).read_bytes)


async def test_an_analyst_reads_exports_and_signs_out_on_a_laptop(
    browser: Browser, base_url: str
) -> None:
    page = await laptop(browser)
    await page.goto(f"{base_url}/admin/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Вход")
    await shoot(page, "login-ru")
    await page.locator("input[name=email]").fill(ADMIN_EMAIL)
    await page.locator("input[name=password]").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Войти").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Общий обзор")
    await expect(page.locator(".kpi-value").first).to_have_text("280")
    await expect(page.locator("svg.chart-line")).to_be_visible()
    await expect(page.locator("svg.chart-bars rect")).not_to_have_count(0)
    await shoot(page, "overview-ru")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Органы", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Государственные органы")
    await page.locator("select[name=kind]").select_option("local")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    rows = page.locator("table.data tbody tr")
    await expect(rows).to_have_count(2)  # the two akimats; the ministry is central
    await expect(rows.first).to_contain_text("Акимат города Алматы")  # 80 % before 40 %
    await shoot(page, "agencies-ru")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Удовлетворены (4–5)").click()
    await expect(rows.first).to_contain_text("Акимат города Астаны")  # now ascending

    async with page.expect_navigation():
        await page.get_by_role("link", name="Акимат города Алматы").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await expect(page.locator(".kpi-value").nth(1)).to_have_text("80,0\u00a0%")
    await shoot(page, "agency-ru")

    body = await download(page, "#h-services ~ .exports a:text('CSV')")
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][:3] == ["Место", "Услуга", "Удовлетворены (4–5)"]
    assert table[1][:4] == ["1", "Постановка в очередь в детский сад", "0.8", "150"]
    workbook = load_workbook(
        io.BytesIO(await download(page, "#h-defects ~ .exports a:text('XLSX')"))
    )
    sheet = workbook.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Нарушение"
    assert values[1][:3] == ("Срок нарушен", 0.1, 15)

    async with page.expect_navigation():
        await page.get_by_role("button", name="KK").click()
    await expect(page.locator("html")).to_have_attribute("lang", "kk")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Алматы қаласының әкімдігі")
    await shoot(page, "agency-kk")
    async with page.expect_navigation():
        await page.get_by_role("button", name="EN").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Akimat of Almaty")
    await shoot(page, "agency-en")

    for name, path in (("users", "users"), ("audit", "audit")):
        await page.goto(f"{base_url}/admin/{path}")
        await expect(page.locator("table.data")).to_be_visible()
        await shoot(page, f"{name}-en")
    await expect(page.locator("table.data")).to_contain_text("Export")  # the two downloads

    await page.goto(f"{base_url}/admin/password")
    await page.get_by_label("Current password", exact=True).fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("a brand new pass phrase")
    await page.get_by_label("Repeat the new password").fill("a brand new pass phrase")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Change").click()
    await expect(page.get_by_role("status")).to_have_text("Your password has been changed.")
    await shoot(page, "password-en")

    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Вход")
    await page.goto(f"{base_url}/admin/agencies")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Вход")
    await page.locator("input[name=email]").fill(ADMIN_EMAIL)
    await page.locator("input[name=password]").fill("a brand new pass phrase")
    async with page.expect_navigation():
        await page.locator("form.stack button[type=submit]").click()
    # Back where sign-in interrupted, in the language this user chose.
    await expect(page.get_by_role("heading", level=1)).to_have_text("State bodies")


async def test_an_agency_and_an_analyst_on_a_phone(browser: Browser, base_url: str) -> None:
    page = await phone(browser)
    await page.goto(f"{base_url}/admin/login")
    await expect(page.locator("html")).to_have_attribute("lang", "kk")
    assert await fits_the_screen(page)
    await shoot(page, "login-kk-phone")
    await sign_in(page, base_url, AGENCY_EMAIL)
    # The agency's user lands on its own agency; the menu offers only it and its complaints.
    await expect(page.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await expect(page.locator("nav.nav a")).to_have_count(2)
    assert await fits_the_screen(page)
    await shoot(page, "agency-ru-phone")
    await page.goto(f"{base_url}/admin/agencies/AST")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Не найдено")
    await shoot(page, "not-found-ru-phone")
    await page.goto(f"{base_url}/admin/audit")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Доступ запрещён")
    await shoot(page, "forbidden-ru-phone")

    other = await phone(browser)
    await sign_in(other, base_url, ANALYST_EMAIL)
    await expect(other.get_by_role("heading", level=1)).to_have_text("Общий обзор")
    assert await fits_the_screen(other)
    await shoot(other, "overview-ru-phone")
    await other.goto(f"{base_url}/admin/agencies")
    assert await fits_the_screen(other)
    await shoot(other, "agencies-ru-phone")
    await other.goto(f"{base_url}/admin/password")
    assert await fits_the_screen(other)
    await shoot(other, "password-ru-phone")

    admin = await phone(browser)
    await sign_in(admin, base_url, ADMIN_EMAIL)
    for name in ("users", "audit"):
        await admin.goto(f"{base_url}/admin/{name}")
        await expect(admin.locator("table.data")).to_be_visible()
        assert await fits_the_screen(admin)
        await shoot(admin, f"{name}-ru-phone")
