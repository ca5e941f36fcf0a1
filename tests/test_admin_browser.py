"""People use the admin in headless Chromium, on a laptop and on a phone: sign in, read the
overview, find an agency, export its tables as CSV and XLSX and read them back, switch the
language, change the password, sign out; compare the methodologies in the ranking, filter it,
open an agency's tree of scores, print its report card on one A4 page; import an indicators
file, explore responses, open a service and an office. Screenshots of every page go to
tests/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
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
from tests.explorer_fixtures import IIN, store_raw_responses
from tests.ranking_fixtures import add_scored_year
from tests.served import served
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
    await store_raw_responses(session_factory)
    async with served(build_admin_server_app(admin_settings(), session_factory, Clock())) as url:
        yield url


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
    # The agency's user lands on its own agency; the menu: it, methodology, responses,
    # complaints, complaint summaries, staff chats, change notes, open data.
    await expect(page.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await expect(page.locator("nav.nav a")).to_have_count(8)
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


LAPTOP_SMALL = {"width": 1366, "height": 768}


@pytest.fixture
async def scored_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    """The admin with a scored year: five agencies and stored runs of both methodologies."""
    await populate(session_factory, seed)
    await add_scored_year(session_factory)
    async with served(build_admin_server_app(admin_settings(), session_factory, Clock())) as url:
        yield url


def ranking_row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("table.ranking tbody tr", has_text=name)


async def test_an_analyst_compares_the_methodologies_and_prints_a_report_card(
    browser: Browser, scored_url: str
) -> None:
    context = await browser.new_context(viewport=LAPTOP_SMALL, locale="ru-RU")
    page = await context.new_page()
    await sign_in(page, scored_url, ANALYST_EMAIL)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Рейтинг", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Рейтинг государственных органов"
    )
    await expect(page.locator(".run")).to_have_count(2)  # which run each column comes from
    # central and local bodies ranked in tables of their own
    await expect(page.locator("#h-ranking_central")).to_contain_text("Центральные")
    await expect(page.locator("#h-ranking_local")).to_contain_text("Местные")
    karaganda = ranking_row(page, "Акимат Карагандинской области")
    # Side by side: high under kz-2020, medium once S weighs 0.135 of the total.
    await expect(karaganda.locator("td[data-label='Оценка (kz-2020)'] .grade-badge")).to_have_text(
        "высокая"
    )
    await expect(karaganda.locator("td[data-label='Оценка (s30)'] .grade-badge")).to_have_text(
        "средняя"
    )
    await expect(
        ranking_row(page, "Акимат города Алматы").locator("td.change .up")
    ).to_contain_text("+1")
    await shoot(page, "ranking-ru")

    await page.locator("select[name=show]").select_option("kz-2020")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(page.locator("th", has_text="Балл (s30)")).to_have_count(0)
    await expect(karaganda.locator(".grade-badge")).to_have_text("высокая")
    await page.locator("select[name=show]").select_option("proposed-s30")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(karaganda.locator(".grade-badge")).to_have_text("средняя")
    await shoot(page, "ranking-s30-ru")

    await page.locator("select[name=show]").select_option("both")
    await page.locator("select[name=region]").select_option("ALA")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(page.locator("table.ranking tbody tr")).to_have_count(1)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Акимат города Алматы").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await expect(page.locator("#tree-proposed-s30 tr[data-node=satisfaction]")).to_be_visible()
    # each figure with the formula its values went into, and the place among local bodies
    await expect(
        page.locator("#tree-proposed-s30 tr[data-node=total] .substituted code")
    ).to_be_visible()
    await expect(page.locator(".positions .strip").first).to_be_visible()
    await page.locator("details.tree-box summary").first.click()  # open kz-2020's tree too
    await expect(page.locator("#tree-kz-2020 tr[data-node=satisfaction_level]")).to_be_visible()
    await shoot(page, "agency-tree-ru")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Карточка для печати").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await expect(page.locator(".report-score")).to_have_count(3)
    await shoot(page, "report-ru")
    await page.emulate_media(media="print")
    await page.screenshot(path=artifact("admin-report-print-ru.png"), full_page=True)
    pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages >= 2  # the card, then how each figure was computed on pages of its own
    await asyncio.to_thread(Path(artifact("admin-report-ru.pdf")).write_bytes, pdf)
    await page.evaluate("document.querySelector('.report-explain').remove()")
    card = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert card.count(b"/Type /Page") - card.count(b"/Type /Pages") == 1  # the card: one A4 page
    await page.emulate_media(media="screen")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Методика", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Методики оценки")
    await expect(page.locator("#h-key + p")).to_contain_text("0,135")
    await shoot(page, "methodology-ru")


async def test_the_ranking_and_report_card_on_a_phone(browser: Browser, scored_url: str) -> None:
    page = await phone(browser)
    await sign_in(page, scored_url, ANALYST_EMAIL)
    for name, path in (
        ("ranking", "/admin/ranking"),
        ("agency-tree", "/admin/agencies/ALA#scores"),
        ("report", "/admin/agencies/ALA/report"),
        ("methodology", "/admin/methodology"),
    ):
        await page.goto(f"{scored_url}{path}")
        await expect(page.locator("h1")).to_be_visible()
        assert await fits_the_screen(page), name
        await shoot(page, f"{name}-ru-phone")

    agency = await phone(browser)
    await sign_in(agency, scored_url, AGENCY_EMAIL)
    await agency.goto(f"{scored_url}/admin/agencies/ALA/report")
    await expect(agency.get_by_role("heading", level=1)).to_have_text("Акимат города Алматы")
    await agency.goto(f"{scored_url}/admin/agencies/AST/report")
    await expect(agency.get_by_role("heading", level=1)).to_have_text("Не найдено")


BAD_FILE = b"agency,period,input,value\nALA,2025,openness_score,171.5\nZZZ,2025,openness_score,50\n"
GOOD_FILE = b"agency,period,input,value\nALA,2025,openness_score,71.5\nAST,2025,openness_score,64\n"


async def test_an_admin_imports_explores_and_opens_a_service_on_a_laptop(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    page = await laptop(browser)
    await sign_in(page, base_url, ADMIN_EMAIL)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Импорт", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Импорт показателей")
    bad = tmp_path / "indicators-2025.csv"
    bad.write_bytes(BAD_FILE)
    await page.locator("input[type=file]").set_input_files(str(bad))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Проверить").click()
    await expect(page.get_by_role("heading", name="indicators-2025.csv: ошибки")).to_be_visible()
    problems = page.locator("table.problems tbody tr")
    await expect(problems).to_have_count(2)
    await expect(problems.first).to_contain_text("2")
    await expect(problems.nth(1)).to_contain_text("ZZZ")
    await expect(page.locator(".alert")).to_contain_text("Ничего не сохранено")
    await shoot(page, "imports-errors-ru")
    good = tmp_path / "indicators-fixed.csv"
    good.write_bytes(GOOD_FILE)
    await page.locator("input[type=file]").set_input_files(str(good))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Проверить").click()
    await expect(page.get_by_role("heading", name="indicators-fixed.csv: проверен")).to_be_visible()
    await shoot(page, "imports-preview-ru")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Сохранить (2 строки)").click()
    await expect(page.get_by_role("status")).to_contain_text("Сохранено значений: 2")
    await expect(page.locator("section[aria-labelledby=h-imports] tbody tr")).to_have_count(2)
    await shoot(page, "imports-ru")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Ответы", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Обзор ответов")
    await expect(page.locator("li.response")).to_have_count(50)
    await expect(page.locator("main")).not_to_contain_text(IIN)
    await expect(page.locator("main")).to_contain_text("мой ИИН [IIN]")
    await page.locator("select[name=flagged]").select_option("yes")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(page.locator("li.response")).to_have_count(1)
    await expect(page.locator("li.response.flagged .badge.bad")).to_have_text(
        "Заполнен слишком быстро"
    )
    await shoot(page, "responses-flagged-ru")
    await page.locator("select[name=flagged]").select_option("")
    await page.locator("select[name=agency]").select_option("ALA")
    await page.locator("select[name=score]").select_option("5")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Показать").click()
    await expect(page.locator("li.response")).to_have_count(12)
    await shoot(page, "responses-ru")
    body = await download(page, "a:text('CSV')")
    exported = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(exported) == 13 and all(row[7] == "5" for row in exported[1:])

    await page.goto(f"{base_url}/admin/agencies/ALA")
    await expect(page.locator("#h-comments")).to_be_visible()
    async with page.expect_navigation():
        await (
            page.locator("section[aria-labelledby=h-services]")
            .get_by_role("link", name="Постановка в очередь в детский сад")
            .click()
        )
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Постановка в очередь в детский сад"
    )
    await expect(page.locator(".kpi-value").nth(1)).to_have_text("80,0\u00a0%")
    await expect(page.locator("#h-trend")).to_be_visible()
    await shoot(page, "service-ru")
    async with page.expect_navigation():
        await page.get_by_role("link", name="ЦОН №1").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("ЦОН №1")
    await shoot(page, "office-ru")
    poster = await download(page, "a:text('SVG')")
    assert poster.startswith(b"<svg")


async def test_an_agency_user_explores_its_responses_on_a_phone(
    browser: Browser, base_url: str
) -> None:
    page = await phone(browser)
    await sign_in(page, base_url, AGENCY_EMAIL)
    await page.goto(f"{base_url}/admin/responses")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Обзор ответов")
    await expect(page.locator("select[name=flagged]")).to_have_count(0)
    await expect(page.locator("main")).not_to_contain_text(IIN)
    assert await fits_the_screen(page)
    await shoot(page, "responses-ru-phone")
    await page.goto(f"{base_url}/admin/agencies/ALA/offices/ALA-01")
    await expect(page.get_by_role("heading", level=1)).to_have_text("ЦОН №1")
    assert await fits_the_screen(page)
    await shoot(page, "office-ru-phone")
    await page.goto(f"{base_url}/admin/agencies/ALA/services/ALA-S1")
    assert await fits_the_screen(page)
    await shoot(page, "service-ru-phone")
    await page.goto(f"{base_url}/admin/responses?agency=AST")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Не найдено")

    admin = await phone(browser)
    await sign_in(admin, base_url, ADMIN_EMAIL)
    await admin.goto(f"{base_url}/admin/imports")
    assert await fits_the_screen(admin)
    await shoot(admin, "imports-ru-phone")


async def test_every_menu_item_is_visible_from_1280_px_and_on_a_phone(
    browser: Browser, base_url: str
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    page = await context.new_page()
    await sign_in(page, base_url, ADMIN_EMAIL)
    links = page.locator("nav.nav a")
    await expect(links).to_have_count(14)  # everything an admin may open
    await expect(page.locator("nav.nav [role=group]")).to_have_count(3)
    for index in range(await links.count()):
        box = await links.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, index
    assert await fits_the_screen(page)
    await shoot(page, "menu-1280")

    small = await phone(browser)
    await sign_in(small, base_url, ADMIN_EMAIL)
    links = small.locator("nav.nav a")
    for index in range(await links.count()):
        box = await links.nth(index).bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], index
        assert box["height"] >= 44, index  # a thumb can hit it
    assert await fits_the_screen(small)
    await shoot(small, "menu-phone")
