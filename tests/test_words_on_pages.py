"""Every page a reader sees in Kazakh or Russian says it in that language: a walk over the
citizen pages and the admin pages, in kk and ru (with a complaint, a data set, a problem report
and flagged responses on them), fails on any Latin-script word that is not a name, a code or a
unit everyone writes in Latin letters."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import ComplaintStatus
from tests.conftest import Seed
from tests.web_fixtures import PageView, WebApp, running_web_app

# Names, codes and units written in Latin letters in Kazakh and Russian texts too.
ALLOWED = {
    "qanagat",
    "telegram",
    "egov",
    "sms",
    "qr",
    "csv",
    "xlsx",
    "api",
    "pdf",
    "png",
    "svg",
    "id",
    "url",
    "utc",
    "hmac",
    "sha",
    "iin",
    "bin",
    "it",
    "ctrl",
    "wilson",
    "kk",
    "ru",
    "en",
    "kz",
    "nps",
    "n",
    "q",
    "s",
    "txt",
    "json",
    "ok",
    "e",
    "mail",
    "gov",
    "http",
    "https",
}
ALLOWED |= {"mini", "app"}  # Telegram's Mini App, a product's name
# The methodology page explains the methodology files in their own words; those texts are being
# rewritten with kk and ru versions, and the page is walked once they are in.
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


class _Text(HTMLParser):
    """The text a reader sees: no scripts, styles or attributes, no e-mail addresses or codes
    the page quotes from the data (`code`, the user's address in the header)."""

    SKIPPED = {"script", "style", "code", "title"}

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # a language's own name in the switcher is marked with its language, as it should be
        other_language = tag != "html" and dict(attrs).get("lang") not in (None, self.lang)
        nested = bool(self._skipping) and tag == self._skipping[-1]  # <span> in a skipped <span>
        if tag in self.SKIPPED or other_language or nested:
            self._skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def foreign_words(html: str, lang: str) -> set[str]:
    reader = _Text(lang)
    reader.feed(html)
    text = " ".join(reader.parts)
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses
    text = re.sub(r"\S*\d\S*", " ", text)  # numbers and codes with digits: kz-2020, 9s
    text = re.sub(r"\b[A-Z0-9]+(?:[-_][A-Z0-9]+)+\b", " ", text)  # codes: ALA-S1, Q-ABCD2345
    text = re.sub(r"\b[A-Z]{2,}\b", " ", text)  # agency codes and abbreviations
    return {w for w in LATIN_WORD.findall(text) if w.lower() not in ALLOWED}


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_citizen_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    lang: str,
) -> None:
    token = await make_invitation()
    async with running_web_app(session_factory) as app:
        citizen = app.citizen(lang)
        seen: dict[str, set[str]] = {}
        for path in ("/", "/nothing-here", f"/s/{token}"):
            page = await citizen.open(path)
            seen[path] = foreign_words(page.html, lang)
        page = await citizen.start(token)
        for _ in range(12):
            seen[page.path + str(page.question)] = foreign_words(page.html, lang)
            if page.question is None:
                break
            values = [
                i.attrs.get("value", "") for i in page.inputs if i.attrs.get("name") == "value"
            ]
            values += [
                b.attrs.get("value", "") for b in page.buttons if b.attrs.get("name") == "value"
            ]
            page = await citizen.answer(values[0]) if values else await citizen.answer(skip=True)
        assert {path: words for path, words in seen.items() if words} == {}


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_admin_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, lang: str
) -> None:
    from tests.admin_fixtures import ADMIN_EMAIL, running_admin

    async with running_admin(session_factory, seed) as site:
        admin = await site.signed_in(ADMIN_EMAIL)
        await admin.open("/admin/")
        home = await admin.send("/admin/language", ("lang", lang), ("back", "/admin/"))
        paths = ["/admin/"] + [
            link.attrs["href"]
            for link in home.links
            if link.attrs.get("href", "").startswith("/admin/")
            and "export=" not in link.attrs["href"]
        ]
        seen = {}
        for path in dict.fromkeys(paths):
            page = await admin.open(path)
            words = foreign_words(page.html, lang)
            if words:
                seen[path] = words
        assert seen == {}, "\n".join(f"{p}: {sorted(w)}" for p, w in seen.items())


def _first_value(page: PageView) -> str | None:
    offered = [i.attrs.get("value", "") for i in page.inputs if i.attrs.get("name") == "value"]
    offered += [b.attrs.get("value", "") for b in page.buttons if b.attrs.get("name") == "value"]
    return offered[0] if offered else None


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_citizen_complaint_and_data_set_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    lang: str,
) -> None:
    from aiohttp.test_utils import TestServer

    from bot.web.complaints import setup_web_complaints
    from core.complaints import answer, move_to
    from core.models import Complaint
    from scoring.privacy import scrub
    from tests.dataset_flow_fixtures import add_registry, build_dataset_web_app

    await add_registry(session_factory, seed)
    token = await make_invitation()
    app = build_dataset_web_app(session_factory)
    setup_web_complaints(app, scrub)
    server = TestServer(app)
    await server.start_server()
    site = WebApp(server, session_factory)
    seen: dict[str, set[str]] = {}
    try:
        citizen = site.citizen(lang)
        page = await citizen.start(token)
        low = {"overall": "1", "complaint": "yes", "deadline_met": "no", "staff": "1"}
        for _ in range(15):
            if page.question is None:
                break
            value = low.get(page.question) or _first_value(page)
            page = await citizen.answer(value) if value else await citizen.answer(skip=True)
        thanks = page
        seen["thank-you"] = foreign_words(thanks.html, lang)
        [link] = [a.attrs["href"] for a in thanks.links if a.attrs["href"].endswith("/complaint")]
        form = await citizen.open(link)
        seen["complaint form"] = foreign_words(form.html, lang)
        fields = [("category", "waiting_time"), ("text", "Кезек өте ұзақ"), ("consent", "yes")]
        filed = await citizen.post(link, [("csrf", form.hidden("csrf") or ""), *fields])
        seen["complaint filed"] = foreign_words(filed.html, lang)
        async with session_factory() as session:
            complaint = (await session.scalars(select(Complaint))).one()
            move_to(session, complaint, ComplaintStatus.IN_REVIEW, "staff@agency.kz")
            answer(session, complaint, "Екінші терезе ашылды.", "staff@agency.kz")
            await session.commit()
        seen["complaint answered"] = foreign_words((await citizen.open(link)).html, lang)

        reader = site.citizen(lang)
        for path in ("/d", "/d?agency=ALA", "/d?agency=ALA&q=мектеп", "/d/ala_schools_2026"):
            seen[path] = foreign_words((await reader.open(path)).html, lang)
        landing = reader.current
        page = await reader.post(landing.action, [("csrf", landing.hidden("csrf") or "")])
        for value in ("yes", "yes", "no", "yes", "2", "outdated", "Деректер ескірген"):
            seen[f"data set: {page.question}"] = foreign_words(page.html, lang)
            page = await reader.answer(value)
        seen["data set: report filed"] = foreign_words(page.html, lang)
    finally:
        for session in site.sessions:
            await session.close()
        await server.close()
    assert {path: words for path, words in seen.items() if words} == {}


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_admin_complaint_data_set_and_flag_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, lang: str
) -> None:
    from core.clock import reporting_day
    from core.complaints import answer, move_to
    from core.models import Response, ResponseFlag
    from tests.admin_fixtures import ADMIN_EMAIL, running_admin
    from tests.dataset_fixtures import add_dataset, add_respondent, problem_report, rating
    from tests.test_complaints_lifecycle import filed

    async with running_admin(session_factory, seed) as site:
        today = reporting_day(site.clock())
        async with session_factory() as db:
            _, complaint = await filed(db, seed, "walker", site.clock() - timedelta(days=2))
            move_to(db, complaint, ComplaintStatus.IN_REVIEW, "staff@agency.kz")
            answer(db, complaint, "Анықтама талап етілмейді.", "staff@agency.kz")
            schools = await add_dataset(db, seed.agency, "ALA-9", "Школы")
            person = await add_respondent(db, "reader")
            db.add(rating(schools, today - timedelta(days=3), 2, False, person))
            received = site.clock() - timedelta(days=3)
            report = problem_report(db, schools, received, today + timedelta(days=5))
            response_id = await db.scalar(
                select(Response.id).where(Response.service_id == seed.service.id).limit(1)
            )
            assert response_id is not None
            for reason, detail in (
                ("fast_completion", "completed 2 s after it was opened"),
                ("respondent_burst", "4 completed by one respondent within 10 min"),
                ("network_burst", "31 completed from one network address within 60 min"),
                ("office_top_burst", "40 top scores at one office within 30 min"),
            ):
                db.add(
                    ResponseFlag(
                        response_id=response_id,
                        reason=reason,
                        detail=detail,
                        created_at=site.clock(),
                    )
                )
            await db.commit()
            references = [complaint.reference, report.reference]
        admin = await site.signed_in(ADMIN_EMAIL)
        await admin.open("/admin/")
        await admin.send("/admin/language", ("lang", lang), ("back", "/admin/"))
        paths = [
            "/admin/complaints",
            *(f"/admin/complaints/{reference}" for reference in references),
            "/admin/complaints?status=answered",
            f"/admin/summaries?agency={seed.agency.code}",
            "/admin/datasets",
            f"/admin/agencies/{seed.agency.code}/datasets",
            "/admin/responses?flagged=yes&days=all",
        ]
        seen = {}
        for path in paths:
            page = await admin.open(path)
            assert page.status == 200, path
            if "flagged" in path:
                assert "fast_completion" not in page.html and "after it was opened" not in page.html
            words = foreign_words(page.html, lang)
            if words:
                seen[path] = words
        assert seen == {}, "\n".join(f"{p}: {sorted(w)}" for p, w in seen.items())


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_public_results_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, lang: str, tmp_path: Path
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from results.pages import setup_results
    from tests.admin_fixtures import populate
    from tests.ranking_fixtures import PERIOD, add_scored_year, publish_scored_year

    await populate(session_factory, seed)
    await publish_scored_year(session_factory, await add_scored_year(session_factory))
    from results.open_data.web import setup_open_data

    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=0)
    setup_open_data(app, session_factory=session_factory, cache_dir=tmp_path / "open-data")
    seen: dict[str, set[str]] = {}
    async with TestClient(TestServer(app)) as client:
        paths = [f"/results?lang={lang}", f"/results/agencies/MJ?lang={lang}&year={PERIOD}"]
        home = await client.get(paths[0])
        paths += re.findall(r'href="(/results/[^"?]+\?lang=' + lang + r')"', await home.text())
        paths.append(f"/results/agencies/NO-SUCH-BODY?lang={lang}")
        for path in dict.fromkeys(paths):
            response = await client.get(path.replace("&amp;", "&"))
            words = foreign_words(await response.text(), lang)
            if words:
                seen[path] = words
    assert len(paths) > 4
    assert seen == {}, "\n".join(f"{p}: {sorted(w)}" for p, w in seen.items())
