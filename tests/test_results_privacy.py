"""Nothing public below the minimum cell and no free text: a crawl of every /results page in kk,
ru and en over a world with small cells (a service with few ratings, months with few, a question
few answered) and free text written by citizens (a comment, a complaint) finds no count or n
under the minimum and never the citizens' words."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.models import Answer
from core.rollups import add_rollup_rows, counter_rows
from results.disclosure import disclosure_rule
from results.figures import shares
from results.open_data.web import setup_open_data
from results.pages import setup_results
from tests.conftest import Seed
from tests.summary_fixtures import file_complaint

MARKER = "QZX-MARKER-7731"
MINIMUM = disclosure_rule().minimum_cell


async def seed_world(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> None:
    year = utcnow().year
    async with session_factory() as session:
        rows = []
        # the office's first service: 150 ratings over five months (30 a month: each month
        # below the minimum, the year above it); a question only 40 of them answered
        for month in range(1, 6):
            when = datetime(year, month, 10, 6, tzinfo=UTC)
            counts: Counter[tuple[str, str]] = Counter(
                {
                    ("satisfaction", "5"): 20,
                    ("satisfaction", "3"): 10,
                    ("responses", "web"): 30,
                    ("deadline_met", "no"): 8,
                    ("deadline_met", "yes"): 22,
                    ("unjustified_refusal", "yes"): 2,
                    ("unjustified_refusal", "no"): 6,
                }
            )
            rows += counter_rows(when, seed.agency.id, seed.service.id, seed.office.id, counts)
        # the second service, online only: 37 ratings in all
        small: Counter[tuple[str, str]] = Counter(
            {("satisfaction", "4"): 30, ("satisfaction", "1"): 7, ("responses", "web"): 37}
        )
        other_service = seed.service.id + 1
        rows += counter_rows(
            datetime(year, 2, 3, 6, tzinfo=UTC), seed.agency.id, other_service, 0, small
        )
        await add_rollup_rows(session, rows)
        await session.commit()
        # citizens' own words: a complaint and a comment
        complaint = await file_complaint(
            session, seed.service, seed.office, "waiting_time", utcnow(), text=f"{MARKER} кезек"
        )
        assert complaint.response_id is not None
        session.add(Answer(response_id=complaint.response_id, question="comment", value=MARKER))
        await session.commit()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith("/results"):
            self.found.append(href)


def counts_shown(html: str) -> list[int]:
    """Every n and response count the page states."""
    text = re.sub(r"<[^>]+>", " ", html)
    found = [m for m in re.findall(r"n = ([\d\s\u00a0\u202f,.]+)", text)]
    cells = re.findall(r'<td class="number">([\d\s\u00a0\u202f,.]+)</td></tr>', html)
    strong = re.findall(r"<strong>([\d\s\u00a0\u202f,.]+)</strong>", html)
    return [
        int(re.sub(r"\D", "", value))
        for value in found + cells + strong
        if re.sub(r"\D", "", value)
    ]


async def test_no_public_page_shows_a_cell_below_the_minimum_or_any_free_text(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, tmp_path: Path
) -> None:
    await seed_world(session_factory, seed)
    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=0)
    setup_open_data(app, session_factory=session_factory, cache_dir=tmp_path / "open-data")
    async with TestClient(TestServer(app)) as client:
        queue = [f"/results?lang={lang}" for lang in ("kk", "ru", "en")]
        seen: set[str] = set()
        counts: list[int] = []
        while queue and len(seen) < 300:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await client.get(path)
            assert response.status == 200, path
            if path.endswith(".zip"):  # an open-data package: every file in it
                with zipfile.ZipFile(io.BytesIO(await response.read())) as package:
                    for member in package.namelist():
                        assert MARKER not in package.read(member).decode(), (path, member)
                continue
            body = await response.text()
            assert MARKER not in body, path
            counts += counts_shown(body)
            links = Links()
            links.feed(body)
            queue += [link for link in links.found if link not in seen]
    assert {"/results/agencies/ALA?lang=kk", "/results/offices/ALA-01?lang=ru"} <= seen
    assert any(path.startswith("/results/services/") for path in seen)
    assert counts and all(count >= MINIMUM for count in counts), sorted(counts)[:5]
    assert 150 in counts and 187 in counts  # the office's year and the agency's are shown


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=20))
def test_a_share_is_given_only_on_enough_answers(pairs: list[tuple[int, int]]) -> None:
    pairs = [(min(hits, n), n) for hits, n in pairs]
    for (hits, n), share in zip(pairs, shares(pairs), strict=True):
        if n < MINIMUM:
            assert share.share is None and share.n is None and share.low is None
        else:
            assert share.n == n and share.share == pytest.approx(hits / n)
            assert share.low is not None and share.high is not None
            assert 0 <= share.low <= hits / n <= share.high <= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_pages_interval_is_the_scores_wilson_interval(pair: tuple[int, int]) -> None:
    import pandas as pd

    from results.figures import wilson
    from scoring.evidence import wilson_interval

    hits, n = pair
    low, high = wilson_interval(pd.Series([hits]), pd.Series([n]))
    assert wilson(hits, n) == (pytest.approx(low[0]), pytest.approx(high[0]))
