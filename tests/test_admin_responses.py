"""The responses explorer: filters narrow the list, pages go newest first, an agency user sees
only its agency whatever the filters say (another agency's code: 404), analysts see flagged
responses with their reasons, and an IIN in a comment never reaches the page or an export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.web import words
from core.integrity.flags import ANALYST, FAST, NETWORK_BURST, OFFICE_TOP_BURST, RESPONDENT_BURST
from tests.admin_fixtures import AGENCY_EMAIL, EMAILS, AdminSite, Person, running_admin
from tests.conftest import Seed
from tests.explorer_fixtures import ASTANA_COMMENT, IIN, Stored, store_raw_responses


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


@pytest.fixture
async def stored(site: AdminSite) -> Stored:
    return await store_raw_responses(site.session_factory)


def count(html: str) -> int:
    return len(re.findall(r'<li class="response[ "]', html))


def export_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_filters_narrow_the_list(site: AdminSite, stored: Stored) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    everything = await analyst.open("/admin/responses?days=30")
    assert everything.status == 200
    assert count(everything.html) == 50  # one page

    async def total(query: str) -> int:
        status, _h, body = await analyst.download(
            f"/admin/responses?{query}&export=responses&format=csv"
        )
        assert status == 200
        return len(export_rows(body)) - 1

    assert await total("days=30") == 65
    assert await total("days=30&agency=AST") == 5
    assert await total("days=30&service=ALA-S1") == 30
    assert await total("days=30&office=ALA-01") == 40
    assert await total("days=30&channel=web") == 15 + 5
    assert await total("days=30&language=kk") == 12
    assert await total("days=30&score=5") == 12
    assert await total("days=30&score=1&agency=AST") == 5
    assert await total("days=30&region=AST") == 5
    assert await total("days=30&flagged=yes") == 1
    assert await total("days=30&flagged=no") == 64


async def test_pages_go_newest_first_without_repeating(site: AdminSite, stored: Stored) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    first = await analyst.open("/admin/responses?days=30&agency=ALA")
    days = re.findall(r'<span class="day">([0-9-]+)</span>', first.html)
    assert days == sorted(days, reverse=True) and len(days) == 50
    second = await analyst.open("/admin/responses?days=30&agency=ALA&page=2")
    assert count(second.html) == 10
    assert 'rel="prev"' in second.html and 'rel="next"' not in second.html
    assert "&amp;agency=ALA" in first.html  # the next page keeps the filters


async def test_a_response_is_shown_by_the_day_not_the_minute(
    site: AdminSite, stored: Stored
) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/responses?days=30")
    assert ":07" not in page.html.split("<main", 1)[1]  # stored at HH:07:13


async def test_an_iin_in_a_comment_never_reaches_the_page_or_an_export(
    site: AdminSite, stored: Stored
) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/responses?days=30")
    assert "Очередь была долгой" in page.html and "[IIN]" in page.html
    assert IIN not in page.html
    for fmt in ("csv", "xlsx"):
        status, _h, body = await analyst.download(
            f"/admin/responses?days=30&export=responses&format={fmt}"
        )
        assert status == 200
        if fmt == "csv":
            text = body.decode("utf-8-sig")
        else:
            sheet = load_workbook(io.BytesIO(body)).active
            assert sheet is not None
            text = "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row)
        assert "[IIN]" in text and IIN not in text


async def test_analysts_see_flagged_responses_with_the_reason(
    site: AdminSite, stored: Stored
) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/responses?days=30&flagged=yes")
    assert count(page.html) == 1
    assert "Заполнен слишком быстро" in page.html and "9 s" in page.html
    _s, _h, body = await analyst.download(
        "/admin/responses?days=30&flagged=yes&export=responses&format=csv"
    )
    [_header, row] = export_rows(body)
    assert "Заполнен слишком быстро (9 s)" in row


async def test_an_agency_user_sees_only_its_agency_whatever_the_filters_say(
    site: AdminSite, stored: Stored
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/responses?days=30")
    assert page.status == 200 and ASTANA_COMMENT not in page.html
    _s, _h, body = await almaty.download("/admin/responses?days=30&export=responses&format=csv")
    assert len(export_rows(body)) - 1 == 60
    assert ASTANA_COMMENT not in body.decode("utf-8-sig")
    for query in ("agency=AST", "service=AST-S1", "office=AST-01"):
        refused = await almaty.open(f"/admin/responses?days=30&{query}")
        assert refused.status == 404 and ASTANA_COMMENT not in refused.html
        status, _h, body = await almaty.download(
            f"/admin/responses?{query}&export=responses&format=csv"
        )
        assert status == 404 and ASTANA_COMMENT.encode() not in body
    region = await almaty.open("/admin/responses?days=30&region=AST")
    assert ASTANA_COMMENT not in region.html  # an unknown region is no filter


async def test_agency_users_do_not_see_anti_gaming_flags(site: AdminSite, stored: Stored) -> None:
    almaty: Person = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/responses?days=30&flagged=yes")
    assert count(page.html) == 50  # the flag filter is not theirs: ignored
    assert "Заполнен слишком быстро" not in page.html and 'name="flagged"' not in page.html
    _s, _h, body = await almaty.download("/admin/responses?days=30&export=responses&format=csv")
    assert "Заполнен слишком быстро" not in body.decode("utf-8-sig")


async def test_exports_are_audited(site: AdminSite, stored: Stored) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    await analyst.download("/admin/responses?days=30&agency=AST&export=responses&format=xlsx")
    [event] = [e for e in await site.audit() if e.action == "export"]
    assert event.details["rows"] == 5 and event.details["query"]["agency"] == "AST"


def test_every_flag_reason_has_a_name_in_each_language() -> None:
    for reason in (FAST, RESPONDENT_BURST, NETWORK_BURST, OFFICE_TOP_BURST, ANALYST):
        assert f"flag_{reason}" in words.WORDS.entries


async def test_exports_write_answers_in_words_and_times_as_almaty_dates(
    site: AdminSite, stored: Stored
) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    _s, _h, body = await analyst.download("/admin/responses?days=30&export=responses&format=xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    answers = [str(row[header.index("Ответы")]) for row in rows[1:]]
    assert any("Долгое ожидание" in cell for cell in answers)
    assert any("Услуга была оказана в установленный срок?: да" in cell for cell in answers)
    joined = " ".join(answers)
    for code in ("waiting_time", "deadline_met", "True", "False", "yes"):
        assert code not in joined, code
