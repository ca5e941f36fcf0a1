"""A data user on a phone: the open-data page in their browser's language, another language
one tap away, and a download that recomputes every published score."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser

from core.db import create_engine, create_session_factory
from results.open_data.verify import verify_package
from results.open_data.web import setup_open_data
from tests.test_open_data import _small_sample_database
from tests.test_web_browser import browser, chromium, fits_the_screen, phone, shoot

__all__ = ["browser", "chromium"]  # fixtures used by name
pytestmark = pytest.mark.browser


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data.sqlite3'}"
    await asyncio.to_thread(asyncio.run, _small_sample_database(url))
    engine = create_engine(url)
    app = web.Application()
    setup_open_data(
        app, session_factory=create_session_factory(engine), cache_dir=tmp_path / "cache"
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_a_data_user_downloads_a_package_on_a_phone_and_it_recomputes(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    page = await phone(browser, locale="kk-KZ")
    await page.goto(f"{base_url}/results/data")
    assert await page.locator("h1").inner_text() == "Ашық деректер"
    assert await fits_the_screen(page)
    await shoot(page, "open-data-kk.png")

    await page.get_by_role("link", name="Русский").tap()
    await page.wait_for_url("**lang=ru")
    assert await page.locator("h1").inner_text() == "Открытые данные"
    download_button = page.get_by_role("link", name="Скачать (ZIP)").first
    box = await download_button.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb's target
    assert await fits_the_screen(page)

    async with page.expect_download() as waiting:
        await download_button.tap()
    download = await waiting.value
    assert download.suggested_filename == "qanagat-2025.zip"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    checks = await asyncio.to_thread(verify_package, saved)
    assert len(checks) == 2 and all(check.ok for check in checks)
