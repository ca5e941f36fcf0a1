"""The staff chats page in headless Chromium: an agency user on a phone opens it from the menu,
makes a code and sees it once, and a chat subscribed with it is listed and unsubscribed with
its button; an admin on a laptop makes a code for a chosen agency. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from core import staff_chats
from core.clock import utcnow
from core.identity import AddressBox
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, SECRET
from tests.test_admin_browser import base_url, browser, laptop, phone, shoot, sign_in
from tests.test_web_browser import fits_the_screen

pytestmark = pytest.mark.browser
__all__ = ["base_url", "browser"]  # fixtures, used by name
CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def test_an_agency_user_subscribes_a_chat_and_unsubscribes_it_on_a_phone(
    browser: Browser, base_url: str, session_factory
) -> None:  # type: ignore[no-untyped-def]
    page = await phone(browser)
    await sign_in(page, base_url, AGENCY_EMAIL)
    await page.locator(".nav").get_by_role("link", name="Чаты сотрудников").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Чаты сотрудников")
    await expect(page.get_by_text("Подписанных чатов пока нет.")).to_be_visible()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Создать код").click()
    command = page.locator("pre.command[data-code]")
    await expect(command).to_contain_text("/subscribe ")
    code = await command.get_attribute("data-code")
    assert code is not None and CODE.fullmatch(code)
    assert await fits_the_screen(page)
    await shoot(page, "staff-chats-code-phone")

    async with session_factory() as session:
        outcome = await staff_chats.subscribe(
            session,
            SECRET.encode(),
            AddressBox(SECRET.encode()),
            code=code,
            chat_id=-1004242,
            title="Шағымдар бөлімі",
            now=utcnow(),
        )
        await session.commit()
    assert isinstance(outcome, staff_chats.Subscribed)
    await page.reload()
    assert code not in await page.content()  # shown once
    row = page.locator("table.data tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Шағымдар бөлімі")
    await shoot(page, "staff-chats-list-phone")
    async with page.expect_navigation():
        await row.get_by_role("button", name="Отписать").click()
    await expect(page.get_by_role("status")).to_have_text("Чат отписан.")
    await expect(page.locator("table.data")).to_have_count(0)


async def test_an_admin_makes_a_monthly_code_for_a_chosen_agency(
    browser: Browser, base_url: str
) -> None:
    page = await laptop(browser)
    await sign_in(page, base_url, ADMIN_EMAIL)
    await page.goto(f"{base_url}/admin/staff-chats")
    await page.locator("select[name=agency]").select_option("AST")
    await page.locator("select[name=language]").select_option("ru")
    await page.locator("input[name=weekly]").uncheck()
    await page.locator("input[name=monthly]").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Создать код").click()
    await expect(page.get_by_role("heading", level=2).first).to_have_text(
        "Код для «Акимат города Астаны»"
    )
    await expect(page.locator("pre.command")).to_contain_text("/subscribe ")
    await shoot(page, "staff-chats-code-ru")
