"""In headless Chromium: an administrator adds a user on the Users page, the new user signs in
to their agency, the administrator disables them and they are signed out; an API key is
created and shown once; the overview draws the invitation funnel and the grades of the
latest stored runs under both methodologies. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin_fixtures import (
    ADMIN_EMAIL,
    ANALYST_EMAIL,
    Clock,
    add_funnel,
    admin_settings,
    build_admin_server_app,
    populate,
)
from tests.conftest import Seed
from tests.ranking_fixtures import add_scored_year
from tests.served import served
from tests.test_admin_browser import browser, laptop, phone, shoot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser

NEW_EMAIL = "head.office@almaty.gov.kz"
NEW_PASSWORD = "an initial passphrase"


@pytest.fixture
async def site_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    """The admin world with an invitation funnel and stored runs of both methodologies."""
    world = await populate(session_factory, seed)
    await add_funnel(session_factory, seed, world)
    await add_scored_year(session_factory)
    async with served(build_admin_server_app(admin_settings(), session_factory, Clock())) as url:
        yield url


async def test_an_admin_adds_a_user_who_signs_in_and_is_then_disabled(
    browser: Browser,  # noqa: F811
    site_url: str,
) -> None:
    admin = await laptop(browser)
    await sign_in(admin, site_url, ADMIN_EMAIL)
    async with admin.expect_navigation():
        await admin.get_by_role("link", name="Пользователи", exact=True).click()
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Пользователи")
    form = admin.locator("#add-user")
    await form.locator("input[name=email]").fill(NEW_EMAIL)
    await form.locator("select[name=role]").select_option("agency")
    await form.locator("select[name=agency]").select_option("ALA")
    await form.locator("select[name=language]").select_option("kk")
    await form.locator("input[name=password]").fill(NEW_PASSWORD)
    await form.locator("input[name=repeat]").fill(NEW_PASSWORD)
    await shoot(admin, "users-add-ru")
    async with admin.expect_navigation():
        await form.get_by_role("button", name="Добавить").click()
    await expect(admin.locator(".notice")).to_have_text(f"Пользователь {NEW_EMAIL} добавлен.")
    await expect(admin.locator("#h-manage")).to_have_text(NEW_EMAIL)
    await expect(admin.locator("table.data tbody tr", has_text=NEW_EMAIL)).to_contain_text("ALA")
    await shoot(admin, "users-added-ru")

    newcomer = await phone(browser)
    await sign_in(newcomer, site_url, NEW_EMAIL, NEW_PASSWORD)
    await expect(newcomer.get_by_role("heading", level=1)).to_have_text("Алматы қаласының әкімдігі")
    await expect(newcomer.locator("html")).to_have_attribute("lang", "kk")
    await expect(newcomer.get_by_role("link", name="Пайдаланушылар")).to_have_count(0)
    await shoot(newcomer, "users-newcomer-agency-phone")

    async with admin.expect_navigation():
        await admin.get_by_role("button", name="Отключить").click()
    await expect(admin.locator(".notice")).to_have_text(f"Пользователь {NEW_EMAIL} отключён.")
    await expect(admin.locator("#manage .badge.bad")).to_have_text("Отключён")
    await shoot(admin, "users-disabled-ru")

    await newcomer.reload()
    await expect(newcomer.get_by_role("heading", level=1)).to_have_text("Жүйеге кіру")
    await newcomer.locator("input[name=email]").fill(NEW_EMAIL)
    await newcomer.locator("input[name=password]").fill(NEW_PASSWORD)
    async with newcomer.expect_navigation():
        await newcomer.locator("form.stack button[type=submit]").click()
    await expect(newcomer.locator(".alert")).to_be_visible()
    await shoot(newcomer, "users-disabled-login-phone")

    async with admin.expect_navigation():
        await admin.get_by_role("link", name="Журнал аудита", exact=True).click()
    rows = admin.locator("table.data tbody tr")
    await expect(rows.first).to_contain_text("reason=disabled")  # the refused sign-in
    await expect(rows.filter(has_text="Пользователь отключён")).to_have_count(1)
    await expect(
        admin.locator("table.data tbody tr", has_text="Пользователь добавлен")
    ).to_have_count(1)


async def test_an_admin_creates_an_api_key_that_is_shown_once(
    browser: Browser,  # noqa: F811
    site_url: str,
) -> None:
    page = await laptop(browser)
    await sign_in(page, site_url, ADMIN_EMAIL)
    async with page.expect_navigation():
        await page.get_by_role("link", name="Ключи API", exact=True).click()
    await page.locator("input[name=name]").fill("Almaty queue system")
    await page.locator("select[name=agency]").select_option(["ALA", "AST"])
    await page.locator("input[name=signing]").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Создать ключ").click()
    key = await page.locator("code.api-key").inner_text()
    assert key.startswith("qk_")
    assert (await page.locator("code.signing-secret").inner_text()).startswith("qs_")
    await expect(page.locator(".secret .alert")).to_contain_text("Скопируйте их сейчас")
    await shoot(page, "apikeys-created-ru")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Ключи API", exact=True).click()
    await expect(page.locator("code.api-key")).to_have_count(0)
    assert key not in await page.content()
    await expect(page.locator("table.data tbody tr")).to_contain_text("Almaty queue system")
    # nothing is chosen in advance: the browser will not send the form without a choice
    select = page.locator("select[name=key]")
    assert await select.input_value() == ""
    await page.get_by_role("button", name="Отозвать", exact=True).click()
    assert await select.evaluate("element => !element.validity.valid")
    label = await select.locator("option", has_text="Almaty queue system").inner_text()
    await select.select_option(label=label)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Отозвать", exact=True).click()
    # the confirmation names the key and its last use; only its own button revokes
    await expect(
        page.get_by_role("heading", name="Отозвать ключ «Almaty queue system»?")
    ).to_be_visible()
    await expect(page.locator(".confirm")).to_contain_text("ещё не использовался")
    await shoot(page, "apikeys-confirm-ru")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Да, отозвать «Almaty queue system»").click()
    await expect(page.locator(".notice")).to_contain_text("отозван")
    await shoot(page, "apikeys-revoked-ru")


async def test_the_overview_draws_the_funnel_and_the_grades(
    browser: Browser,  # noqa: F811
    site_url: str,
) -> None:
    page = await laptop(browser)
    await sign_in(page, site_url, ANALYST_EMAIL)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Общий обзор")
    funnel = page.locator("section", has=page.locator("#h-funnel-chart"))
    await expect(funnel.locator("svg.chart-bars rect")).to_have_count(5)
    await expect(funnel).to_contain_text("62,2")  # 280 completed of 450 invited
    grades = page.locator("section", has=page.locator("#h-grades-chart"))
    await expect(grades.locator("figure.grade-chart")).to_have_count(2)
    await expect(grades.locator("figcaption").first).to_contain_text("№")
    await expect(grades.locator("rect.grade-high, rect.grade-medium").first).to_be_visible()
    await expect(page.locator("table.data", has_text="Органы (s30)")).to_be_visible()
    await shoot(page, "overview-funnel-grades-ru")
    small = await phone(browser)
    await sign_in(small, site_url, ANALYST_EMAIL)
    await expect(small.locator("#h-funnel-chart")).to_be_visible()
    await shoot(small, "overview-funnel-grades-phone")
