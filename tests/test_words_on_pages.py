"""Every page a reader sees in Kazakh or Russian says it in that language: a walk over the
citizen pages and the admin pages, in kk and ru, fails on any Latin-script word that is not a
name, a code or a unit everyone writes in Latin letters."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Seed
from tests.web_fixtures import running_web_app

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


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_public_results_pages_have_no_english_words(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, lang: str
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from results.pages import setup_results
    from tests.admin_fixtures import populate
    from tests.ranking_fixtures import PERIOD, add_scored_year

    await populate(session_factory, seed)
    scored = await add_scored_year(session_factory)
    async with session_factory() as db:  # both methodologies published, as the demo does
        from core.models import ScoreRun
        from core.score_runs import publish_score_run

        for run_id in scored.run_ids.values():
            run = await db.get(ScoreRun, run_id)
            assert run is not None
            await publish_score_run(db, run, by="test")
        await db.commit()
    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=0)
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
