"""A citizen on a phone-sized headless Chromium completes the survey by tapping what they see,
once in Kazakh and once in Russian, starting from the invitation link's page; the database then
holds what they chose. Screenshots of that page, of questions and of the thank-you page go to
tests/artifacts/ for a human look."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages
from bot.web.complaints import setup_web_complaints
from core.models import Channel, ResponseStatus
from scoring.privacy import scrub
from tests.conftest import Seed
from tests.served import served
from tests.web_fixtures import BOT_TOKEN, WebApp, answers_of, build_web_app, signed_init_data

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def base_url(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[str]:
    """The web channel on a real port of this machine, in the test's own event loop."""
    app = build_web_app(session_factory)
    setup_web_complaints(app, scrub)
    async with served(app) as url:
        yield url


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; its absence is a broken test machine, so fail rather than skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt install chromium)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def phone(browser: Browser, locale: str) -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale=locale,
    )
    return await context.new_page()


async def submit(page: Page, button: str) -> None:
    """Tap a button that sends the form and wait for the next page, as a person would."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).tap()


async def tap_answer(page: Page, lang: str) -> None:
    await submit(page, messages.text("web_submit", lang))


async def rate(page: Page, stars: int, lang: str) -> None:
    # The radio's accessible name is its number (the star is decoration).
    await page.get_by_role("radio", name=str(stars), exact=True).tap()
    await tap_answer(page, lang)


async def press(page: Page, text: str) -> None:
    await submit(page, text)


async def tick(page: Page, *labels: str) -> None:
    for label in labels:
        await page.get_by_text(label, exact=True).tap()


async def fits_the_screen(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def artifact(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / name)


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=artifact(name), full_page=True)


async def test_a_citizen_rates_a_service_in_russian_on_a_phone(
    browser: Browser,
    base_url: str,
    make_invitation,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    page = await phone(browser, locale="en-US")
    await page.goto(f"{base_url}/s/{token}")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Русский").tap()
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await shoot(page, "landing-ru.png")
    await press(page, "Начать")
    await expect(page.get_by_text("Вопрос 1 из 12")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.get_by_text(messages.text("web_privacy", "ru"), exact=True)).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, "question-ru.png")

    await tap_answer(page, "ru")  # nothing chosen yet
    await expect(page.get_by_role("alert")).to_have_text(messages.text("answer_required", "ru"))
    await shoot(page, "refusal-ru.png")
    await rate(page, 5, "ru")
    await press(page, "Да")
    await press(page, "Нет")
    await press(page, "Нет")
    await press(page, "Да")
    await rate(page, 4, "ru")
    await rate(page, 5, "ru")
    await tick(page, "В ЦОНе")
    await tap_answer(page, "ru")
    await rate(page, 4, "ru")
    await expect(page.get_by_text("Вопрос 10 из 10")).to_be_visible()
    await shoot(page, "question-text-ru.png")
    await page.get_by_label("Хотите что-нибудь добавить? (необязательно)").fill("Быстро и вежливо")
    await tap_answer(page, "ru")

    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Спасибо! Ваша оценка учитывается при оценке работы государственных органов."
    )
    assert await fits_the_screen(page)
    await shoot(page, "thanks-ru.png")

    [response] = await WebApp(None, session_factory).responses()  # type: ignore[arg-type]
    assert response.status is ResponseStatus.COMPLETED
    assert response.channel is Channel.WEB
    assert response.language == "ru"
    assert answers_of(response) == {
        "overall": 5,
        "deadline_met": True,
        "refused": False,
        "extra_documents": False,
        "full_package": True,
        "staff": 4,
        "clarity": 5,
        "received_via": "service_centre",
        "info_quality": 4,
        "comment": "Быстро и вежливо",
    }


async def test_a_citizen_reports_a_bad_service_in_kazakh_on_a_phone(
    browser: Browser,
    base_url: str,
    make_invitation,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    page = await phone(browser, locale="kk-KZ")
    await page.goto(f"{base_url}/s/{token}")
    await expect(page.locator("html")).to_have_attribute("lang", "kk")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Балабақшаға кезекке қою")
    assert await fits_the_screen(page)
    await shoot(page, "landing-kk.png")
    assert await WebApp(None, session_factory).responses() == []  # type: ignore[arg-type]
    await press(page, "Бастау")
    # the questions a low rating adds are counted from the start: 1/12, then 2/12, not 2/12
    # after 1/10
    await expect(page.get_by_text("Сұрақ 1/12")).to_be_visible()
    await shoot(page, "question-kk.png")

    await rate(page, 1, "kk")
    await expect(page.get_by_text("Сұрақ 2/12")).to_be_visible()
    await tick(page, "Ұзақ күту", "Дөрекілік")
    assert await fits_the_screen(page)
    await shoot(page, "question-multiple-kk.png")
    await tap_answer(page, "kk")
    await press(page, "Жоқ")
    await press(page, "Иә")
    await press(page, "Иә")
    await press(page, "Жоқ")
    await rate(page, 2, "kk")
    await rate(page, 2, "kk")
    await tick(page, "eGov арқылы онлайн")
    await tap_answer(page, "kk")
    await rate(page, 3, "kk")
    await expect(page.get_by_text("Сұрақ 11/12")).to_be_visible()
    await shoot(page, "question-yes-no-kk.png")
    await press(page, "Иә")
    await press(page, messages.text("button_skip", "kk"))

    # the thank-you page asks to file the complaint; it does not claim it is filed
    await expect(page.get_by_text(messages.text("web_complaint_prompt", "kk"))).to_be_visible()
    assert await fits_the_screen(page)
    await shoot(page, "thanks-kk.png")

    [response] = await WebApp(None, session_factory).responses()  # type: ignore[arg-type]
    assert response.status is ResponseStatus.COMPLETED
    assert response.language == "kk"
    answers = answers_of(response)
    assert answers["overall"] == 1
    assert answers["reasons"] == ["waiting_time", "rudeness"]
    assert answers["received_via"] == "egov"
    assert answers["complaint"] is True
    assert answers["comment"] is None


async def test_the_mini_app_page_signs_in_with_telegram_data_and_opens_the_survey(
    browser: Browser,
    base_url: str,
    make_invitation,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    token = await make_invitation()
    init_data = signed_init_data(BOT_TOKEN, 777, start_param=token, language="kk")
    page = await phone(browser, locale="en-US")
    # What Telegram does: our page, with the signed init data in the URL fragment.
    fragment = urlencode({"tgWebAppData": init_data, "tgWebAppVersion": "8.0"})
    await page.goto(f"{base_url}/app#{fragment}")

    await expect(page.get_by_text("Сұрақ 1/12")).to_be_visible()
    assert "/r/" in page.url
    await rate(page, 4, "kk")

    [response] = await WebApp(None, session_factory).responses()  # type: ignore[arg-type]
    assert response.channel is Channel.MINI_APP
    assert response.language == "kk"
    assert answers_of(response) == {"overall": 4}


async def test_the_mini_app_page_outside_telegram_says_where_to_go(
    browser: Browser, base_url: str
) -> None:
    page = await phone(browser, locale="ru-RU")
    await page.goto(f"{base_url}/app")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        messages.text("web_miniapp_open", "ru")
    )
    # A different URL, so the page loads again (a new fragment alone would not).
    forged = "user%3D%257B%257D%26hash%3Dforged"
    await page.goto(f"{base_url}/app?lang=ru#tgWebAppData={forged}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        messages.text("web_miniapp_invalid", "ru")
    )


async def laptop(browser: Browser, locale: str) -> Page:
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    return await context.new_page()


async def test_a_web_complainant_reads_the_answer_and_rates_it_on_a_phone_and_a_laptop(
    browser: Browser,
    base_url: str,
    make_invitation,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from sqlalchemy import select

    from core.complaints import answer, move_to
    from core.models import Complaint, ComplaintStatus

    token = await make_invitation()
    page = await phone(browser, locale="ru-RU")
    await page.goto(f"{base_url}/s/{token}")
    await press(page, "Начать")
    await rate(page, 1, "ru")
    await tick(page, "Долгое ожидание")
    await tap_answer(page, "ru")
    for button in ("Нет", "Нет", "Нет", "Да"):
        await press(page, button)
    await rate(page, 1, "ru")
    await rate(page, 2, "ru")
    await tick(page, "В ЦОНе")
    await tap_answer(page, "ru")
    await rate(page, 2, "ru")
    await press(page, "Да")
    await press(page, messages.text("button_skip", "ru"))
    await expect(page.get_by_text(messages.text("web_complaint_prompt", "ru"))).to_be_visible()
    async with page.expect_navigation():
        await page.get_by_role("link", name=messages.text("web_complaint_link", "ru")).tap()
    await expect(page.get_by_text(messages.text("web_complaint_ask_consent", "ru"))).to_be_visible()
    await page.get_by_text("Долгое ожидание", exact=True).tap()
    await page.get_by_label(messages.text("web_complaint_text", "ru")).fill(
        "Очередь шла три часа, работало одно окно."
    )
    await page.get_by_text("Да", exact=True).tap()
    await submit(page, messages.text("web_complaint_send", "ru"))
    await expect(page.locator("#case-filed")).to_contain_text("Жалоба принята")
    await expect(page.get_by_text(messages.text("web_complaint_answer_here", "ru"))).to_be_visible()
    complaint_url = page.url

    # the thank-you page no longer offers to file it: it links to the filed complaint
    await page.goto(complaint_url.removesuffix("/complaint"))
    await expect(
        page.get_by_role("link", name=messages.text("web_complaint_link", "ru"))
    ).to_have_count(0)
    await expect(
        page.get_by_role("link", name=messages.text("web_complaint_open", "ru"))
    ).to_be_visible()

    async with session_factory() as session:
        complaint = await session.scalar(select(Complaint))
        assert complaint is not None
        move_to(session, complaint, ComplaintStatus.IN_REVIEW, "staff@ala.kz")
        answer(
            session,
            complaint,
            "Здравствуйте! С понедельника работают три окна, запись по времени в eGov.",
            "staff@ala.kz",
        )
        await session.commit()

    await page.goto(complaint_url)
    await expect(page.get_by_text("С понедельника работают три окна", exact=False)).to_be_visible()
    await expect(page.locator(".history li")).to_have_count(3)
    assert await fits_the_screen(page)
    await shoot(page, "complaint-answer-phone-ru.png")
    wide = await laptop(browser, locale="ru-RU")
    await wide.context.add_cookies(await page.context.cookies())
    await wide.goto(complaint_url)
    await expect(wide.get_by_text("С понедельника работают три окна", exact=False)).to_be_visible()
    await shoot(wide, "complaint-answer-laptop-ru.png")

    await page.get_by_role("radio", name="4", exact=True).tap()
    await submit(page, messages.text("web_complaint_rate_send", "ru"))
    await expect(
        page.get_by_text(messages.text("web_complaint_rated", "ru", rating=4))
    ).to_be_visible()
    await expect(page.get_by_role("radio")).to_have_count(0)
    await shoot(page, "complaint-rated-phone-ru.png")
    async with session_factory() as session:
        rated = await session.scalar(select(Complaint))
        assert rated is not None and rated.answer_rating == 4
