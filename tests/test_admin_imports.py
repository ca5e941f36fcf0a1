"""An administrator uploads an indicators file: a bad one shows its problems line by line and
saves nothing; a good one is previewed, stored only on confirmation from the server's copy,
and audited. Nobody else may upload, and the forms need their CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import IndicatorUpload, IndicatorValue
from tests.admin_fixtures import EMAILS, AdminSite, Person, running_admin
from tests.conftest import Seed
from tests.web_fixtures import PageView, read_page

GOOD = (
    b"agency,period,input,value\n"
    b"ALA,2025,openness_score,71.5\n"
    b"AST,2025,openness_score,64\n"
    b"ALA,2025,goal_achievement,80\n"
)
BAD = (
    b"agency,period,input,value\n"
    b"ALA,2025,openness_score,171.5\n"  # line 2: over 100
    b"ZZZ,2025,openness_score,50\n"  # line 3: an agency nobody knows
    b"AST,2025,openness_score,64\n"
)


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


async def upload(
    person: Person, content: bytes, filename: str = "indicators.csv", csrf: str | None = None
) -> PageView:
    """The upload form as a browser sends it (multipart), with the token of the page shown."""
    form = aiohttp.FormData()
    form.add_field("csrf", person.csrf if csrf is None else csrf)
    form.add_field("file", content, filename=filename, content_type="text/csv")
    async with person.session.post("/admin/imports", data=form) as response:
        person.last = response
        person.page = read_page(response.status, str(response.url), await response.text())
    return person.page


async def stored_values(site: AdminSite) -> int:
    async with site.session_factory() as db:
        return int(await db.scalar(select(func.count()).select_from(IndicatorValue)) or 0)


async def test_a_bad_file_shows_each_problem_with_its_line_and_saves_nothing(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    page = await upload(admin, BAD)
    assert page.status == 422
    assert "indicators.csv:2" not in page.html  # lines are a column, not file:line text
    rows = [r for r in page.html.split("<tr>") if "<td" in r]
    assert any(">2<" in r and "100" in r for r in rows)
    assert any(">3<" in r and "ZZZ" in r for r in rows)
    assert 'name="upload"' not in page.html  # nothing to confirm
    assert await stored_values(site) == 0
    async with site.session_factory() as db:
        [kept] = list(await db.scalars(select(IndicatorUpload)))
    assert kept.status == "refused" and kept.content is None and kept.problems == 2


async def test_the_problems_are_listed_in_the_admins_language(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    await admin.send("/admin/language", ("lang", "kk"), ("back", "/admin/imports"))
    page = await upload(admin, BAD)
    assert page.status == 422 and page.lang == "kk"
    assert "openness_score 0-ден 100-ге дейінгі сан болуы керек, ал мұнда 171.5." in page.html
    assert "«ZZZ» органы дерекқорда жоқ" in page.html
    assert "must be a number" not in page.html and "not in the database" not in page.html
    await admin.send("/admin/language", ("lang", "en"), ("back", "/admin/imports"))
    page = await upload(admin, BAD)
    assert "openness_score must be a number from 0 to 100, not 171.5." in page.html


IMPOSSIBLE = (
    b"agency,period,input,value\n"
    b"ALA,2025,complaints_reviewed,50\n"
    b"ALA,2025,complaints_late,120\n"  # line 3: more reviewed late than reviewed
    b"AST,2025,open_data_planned,0\n"
    b"AST,2025,open_data_published,3\n"  # line 5: published, none planned
)


async def test_values_impossible_together_are_said_in_the_admins_language(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    await admin.send("/admin/language", ("lang", "kk"), ("back", "/admin/imports"))
    page = await upload(admin, IMPOSSIBLE)
    assert page.status == 422 and page.lang == "kk"
    assert (
        "ALA 2025: complaints_late = 120, бұл 2-жолдағы complaints_reviewed мәнінен (50) көп: "
        "мерзімі өткен соң қаралған шағымдар қаралған шағымдардан көп бола алмайды (f ≤ p)."
    ) in page.html
    assert "бірақ 4-жолда open_data_planned = 0" in page.html
    assert "cannot exceed" not in page.html and "must have been planned" not in page.html
    assert await stored_values(site) == 0
    await admin.send("/admin/language", ("lang", "ru"), ("back", "/admin/imports"))
    page = await upload(admin, IMPOSSIBLE)
    assert "не может быть больше, чем рассмотренных (f ≤ p)" in page.html
    assert "опубликованные наборы данных должны быть запланированы" in page.html


async def test_a_good_file_is_stored_only_when_confirmed_and_audited(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    preview = await upload(admin, GOOD)
    assert preview.status == 200
    assert "openness_score" in preview.html and "goal_achievement" in preview.html
    assert await stored_values(site) == 0  # previewed, not stored
    token = preview.hidden("upload")
    assert token
    done = await admin.send("/admin/imports/confirm", ("upload", token))
    assert done.status == 200 and done.path == "/admin/imports"
    assert await stored_values(site) == 3
    assert "indicators.csv" in done.html  # in the list of past imports
    events = [e for e in await site.audit() if e.action == "import"]
    assert len(events) == 1 and events[0].details["rows"] == 3
    again = await admin.send("/admin/imports/confirm", ("upload", token))
    assert again.status == 404  # a token stores once
    assert await stored_values(site) == 3


async def test_confirming_stores_the_servers_copy_not_what_the_browser_sends(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    preview = await upload(admin, GOOD)
    token = preview.hidden("upload") or ""
    # extra fields a forger might add are ignored: only the token counts
    await admin.send(
        "/admin/imports/confirm", ("upload", token), ("rows", "ALA,2025,openness_score,1")
    )
    async with site.session_factory() as db:
        values = {
            (v.agency_code, v.input): v.value for v in await db.scalars(select(IndicatorValue))
        }
    assert values[("ALA", "openness_score")] == 71.5


async def test_an_expired_upload_cannot_be_confirmed(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    token = (await upload(admin, GOOD)).hidden("upload") or ""
    site.clock.advance(minutes=20)
    await admin.open("/admin/imports")  # the session stays alive, the upload ages
    site.clock.advance(minutes=11)
    assert (await admin.send("/admin/imports/confirm", ("upload", token))).status == 404
    assert await stored_values(site) == 0


async def test_uploads_need_their_csrf_token(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    refused = await upload(admin, GOOD, csrf="")
    assert refused.status == 403
    async with site.session_factory() as db:
        assert await db.scalar(select(func.count()).select_from(IndicatorUpload)) == 0


async def test_a_file_over_the_limit_gets_a_clear_refusal(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/imports")
    page = await upload(admin, GOOD + b"ALA,2025,openness_score,1\n" * 40_000)
    assert page.status == 413 and page.error
    assert await stored_values(site) == 0


@pytest.mark.parametrize("role", ["analyst", "agency"])
async def test_only_admins_may_import(site: AdminSite, role: str) -> None:
    person = await site.signed_in(EMAILS[role])
    assert (await person.open("/admin/imports", follow=False)).status == 403
    await person.open("/admin/password")
    assert (await upload(person, GOOD)).status == 403
    assert await stored_values(site) == 0
