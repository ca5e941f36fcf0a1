"""The admin's methodology page cites each number's source in the reader's language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin_fixtures import AGENCY_EMAIL, AdminSite, running_admin
from tests.conftest import Seed


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("kk", "болжам: P1 мен P2 салмағы бірдей; зерттеу S ішінде оларға балл бермейді"),
        ("ru", "допущение: P1 и P2 весят одинаково; исследование не даёт им баллов внутри S"),
        (
            "en",
            "assumption: P1 and P2 weigh equally; the research gives no points for them inside S",
        ),
    ],
)
async def test_sources_on_the_methodology_page_are_in_the_readers_language(
    site: AdminSite, lang: str, words: str
) -> None:
    reader = await site.signed_in(AGENCY_EMAIL)
    await reader.send("/admin/language", ("lang", lang), ("back", "/admin/methodology"))
    page = await reader.open("/admin/methodology")
    assert page.status == 200 and page.lang == lang
    assert words in page.html
    inputs = {
        "kk": "Кезеңде көрсетілген мемлекеттік қызметтер.",
        "ru": "Государственные услуги, оказанные за период.",
        "en": "Public services delivered in the period.",
    }
    assert inputs[lang] in page.html  # what each input is, in the same language
    if lang != "en":
        assert "research report" not in page.html and "assumption:" not in page.html
        assert inputs["en"] not in page.html
