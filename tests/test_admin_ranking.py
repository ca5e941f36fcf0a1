"""The ranking, an agency's tree of scores, the methodology page and the report card, all read
from score runs stored through the `qanagat score` path: the figures equal what
`scoring.score` gives for the same inputs, ranks and rank changes equal `scoring.compare`'s,
filters and sorting work, exports read back, and an agency sees only its own report card."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import ScoreRun
from scoring import load_methodology
from scoring.explain import recompute
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, ANALYST_EMAIL, AdminSite, running_admin
from tests.conftest import Seed
from tests.ranking_fixtures import (
    MISSING_FOR_MJ,
    PERIOD,
    ScoredYear,
    add_scored_year,
    expected_value,
)


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


@pytest.fixture
async def year(site: AdminSite) -> ScoredYear:
    return await add_scored_year(site.session_factory)


def rows_of(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def number(cell: str) -> float | None:
    return float(cell) if cell else None


async def test_the_ranking_shows_the_stored_runs_as_scoring_computes_them(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open(f"/admin/ranking?period={PERIOD}")
    assert page.status == 200 and page.heading == "Рейтинг государственных органов"
    for run_id in year.run_ids.values():  # which run each column comes from
        assert f"№ {run_id}" in page.html
    assert "Мало данных" in page.html  # Astana's S: 40 responses
    # central and local bodies in tables of their own, each exported on its own
    assert "Центральные государственные органы" in page.html
    assert "Местные исполнительные органы (акиматы)" in page.html
    table = {}
    for name, codes in (
        ("ranking_central", {"MJ"}),
        ("ranking_local", {"ALA", "AST", "SHY", "KAR"}),
    ):
        status, _h, body = await analyst.download(
            f"/admin/ranking?period={PERIOD}&export={name}&format=csv"
        )
        assert status == 200
        rows = {row["Код"]: row for row in rows_of(body)}
        assert set(rows) == codes
        table |= rows
    for code, row in table.items():
        assert number(row["Балл (kz-2020)"]) == expected_value(year, "kz-2020", code, "total")
        assert number(row["Балл (s30)"]) == expected_value(year, "proposed-s30", code, "total")
        assert number(row["S (удовлетворённость)"]) == expected_value(
            year, "proposed-s30", code, "satisfaction"
        )
        assert number(row["Взаимодействие (s30)"]) == expected_value(
            year, "proposed-s30", code, "interaction"
        )
        # kz-2020's own satisfaction criterion beside it, not proposed-s30's S
        assert number(row["K1 удовлетворённость услугополучателей (kz-2020)"]) == expected_value(
            year, "kz-2020", code, "satisfaction"
        )
    comparison = year.comparison.set_index("agency")
    changes = {}
    for code, row in table.items():
        want = comparison.loc[code, "rank_change"]
        changes[code] = row["Изменение места"]
        assert row["Изменение места"] == ("" if want is None or str(want) == "<NA>" else str(want))
        want_a = comparison.loc[code, "rank_a"]
        assert row["Место (kz-2020)"] == ("" if str(want_a) == "<NA>" else str(want_a))
    assert any(change not in ("", "0") for change in changes.values())  # the order changes
    # Astana's S rests on 40 responses: its totals are provisional, listed and marked
    assert table["AST"]["Статус (s30)"].startswith("предварительно")
    assert "предварительно" in page.html
    assert int(table["ALA"]["Изменение места"]) > 0 > int(table["SHY"]["Изменение места"])
    assert (table["KAR"]["Оценка (kz-2020)"], table["KAR"]["Оценка (s30)"]) == (
        "высокая",
        "средняя",
    )
    assert table["ALA"]["Оценка (kz-2020)"] in ("высокая", "средняя", "низкая", "неэффективная")
    assert table["AST"]["n (S)"] == "40"
    # each total's status travels with it into the export
    assert table["KAR"]["Статус (s30)"] == "рассчитано"
    # the ministry's openness is missing: its total is provisional, and the export says why
    assert table["MJ"]["Статус (kz-2020)"].startswith("предварительно — ")
    assert "Взаимодействие" in table["MJ"]["Статус (kz-2020)"]


async def test_the_ranking_filters_sorts_and_exports_xlsx(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)

    async def codes(query: str, table: str = "ranking_local") -> list[str]:
        _s, _h, body = await analyst.download(
            f"/admin/ranking?period={PERIOD}&{query}&export={table}&format=csv"
        )
        return [row["Код"] for row in rows_of(body)]

    assert await codes("kind=central", "ranking_central") == ["MJ"]
    central_only = await analyst.open(f"/admin/ranking?period={PERIOD}&kind=central")
    assert "Местные исполнительные органы (акиматы)" not in central_only.html
    assert await codes("region=SHY") == ["SHY"]
    by_b = await codes("sort=total_b&order=desc")
    totals_b = {
        code: expected_value(year, "proposed-s30", code, "total")
        for code in ("ALA", "SHY", "KAR", "MJ", "AST")
    }
    scored = sorted((c for c, v in totals_b.items() if v is not None), key=lambda c: -totals_b[c])  # type: ignore[operator]
    scored = [code for code in scored if code != "MJ"]
    assert by_b == scored
    assert await codes("sort=code&order=asc") == ["ALA", "AST", "KAR", "SHY"]
    ascending_a = await codes("sort=total_a&order=asc")
    descending_a = await codes("sort=total_a&order=desc")
    assert ascending_a == list(reversed(descending_a))
    totals_a = {code: expected_value(year, "kz-2020", code, "total") for code in ascending_a}
    assert [totals_a[code] for code in ascending_a] == sorted(totals_a.values())  # type: ignore[type-var]
    # one methodology only: its columns, nothing of the other
    _s, _h, body = await analyst.download(
        f"/admin/ranking?period={PERIOD}&show=kz-2020&export=ranking_local&format=xlsx"
    )
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert "Балл (kz-2020)" in values[0] and "Балл (s30)" not in values[0]
    assert "Статус (kz-2020)" in values[0] and "S (удовлетворённость)" not in values[0]
    column = values[0].index("Балл (kz-2020)")
    exported = {row[0]: row[column] for row in values[1:]}
    assert exported["KAR"] == expected_value(year, "kz-2020", "KAR", "total")
    # made-up values are ignored, not a failure
    assert (await analyst.open("/admin/ranking?period=soon&show=x&kind=y&sort=z")).status == 200


async def test_without_stored_runs_the_page_says_so_and_an_admin_computes_them(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    empty = await analyst.open("/admin/ranking?period=2024")
    assert "Нет расчёта за 2024" in empty.html
    assert "Рассчитать сейчас" not in empty.html  # analysts read, admins compute
    refused = await analyst.send("/admin/ranking/compute", ("period", PERIOD))
    assert refused.status == 403

    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open(f"/admin/ranking?period={PERIOD}&show=both")
    async with site.session_factory() as db:
        before = await db.scalar(select(func.count()).select_from(ScoreRun))
    no_token = await admin.post("/admin/ranking/compute", [("period", PERIOD)])
    assert no_token.status == 403
    done = await admin.send("/admin/ranking/compute", ("period", PERIOD))
    assert done.status == 200 and done.path == "/admin/ranking"
    assert f"Расчёты за {PERIOD} сохранены." in done.html
    async with site.session_factory() as db:
        after = await db.scalar(select(func.count()).select_from(ScoreRun))
        newest = list(await db.scalars(select(ScoreRun).order_by(ScoreRun.id.desc()).limit(2)))
    assert after == (before or 0) + 2
    assert {run.methodology for run in newest} == {"kz-2020", "proposed-s30"}
    for run in newest:
        assert f"№ {run.id}" in done.html  # the page now reads the new runs
    events = [e for e in await site.audit() if e.action == "scores_computed"]
    assert len(events) == 1 and events[0].actor == ADMIN_EMAIL
    assert events[0].details["period"] == PERIOD
    assert sorted(events[0].details["runs"]) == sorted(run.id for run in newest)
    nothing = await admin.send("/admin/ranking/compute", ("period", "2019"))
    assert "За 2019 нет данных" in nothing.html


async def test_an_agency_page_shows_its_tree_of_scores_under_both_methodologies(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open(f"/admin/agencies/MJ?period={PERIOD}")
    assert page.status == 200
    html = page.html
    for name in ("kz-2020", "proposed-s30"):
        assert f'id="tree-{name}"' in html
    # every node of both trees that applies to a central body, with its stored value
    for name in ("kz-2020", "proposed-s30"):
        expected = year.expected[name].query("agency == 'MJ'")
        for node in expected["node"]:
            assert f'data-node="{node}"' in html
    # the missing input is named by what it is, in the reader's language
    about = load_methodology("kz-2020").inputs[MISSING_FOR_MJ].about_in("ru").rstrip(".")
    assert f"данные не предоставлены: «{about}»" in html
    goals = expected_value(year, "kz-2020", "MJ", "goals")
    assert goals is not None and f"{goals:.1f}".replace(".", ",") in html
    assert "0,45" in html  # weights as Russian writes decimals
    ast = await analyst.open(f"/admin/agencies/AST?period={PERIOD}")
    assert "мало ответов" in ast.html  # S withheld below the minimum sample
    assert "n = 40" in ast.html
    almaty = await site.signed_in(AGENCY_EMAIL)
    own = await almaty.open(f"/admin/agencies/ALA?period={PERIOD}")
    assert own.status == 200 and 'id="tree-proposed-s30"' in own.html
    # K3 applies to central bodies only: the row says so, with the reason
    k3 = own.html.split('data-node="automation"', 1)[1].split("</tr>", 1)[0]
    assert "не применяется" in k3 and "не применяется к органам этого вида" in k3


async def test_the_methodology_page_explains_both_files_and_their_difference(
    site: AdminSite,
) -> None:
    reader = await site.signed_in(AGENCY_EMAIL)  # the rules are open to those they judge
    page = await reader.open("/admin/methodology")
    assert page.status == 200 and page.heading == "Методики оценки"
    html = page.html
    assert "Оценка эффективности деятельности государственных органов, методика 2020 года" in html
    assert "удовлетворённость — отдельное направление S" in html  # the file's own words
    assert "S составляет 0,135 итога" in html and "не 0,3" in html
    assert "100 * satisfied_share" in html and "50 * satisfied_share" in html
    assert "documents_once" in html and "internal_control" in html  # new / removed
    assert "изменён вес" in html and "удалён" in html and "новый" in html
    english = await site.signed_in(ANALYST_EMAIL)
    await english.send("/admin/language", ("lang", "en"))
    page = await english.open("/admin/methodology")
    assert "so S is 0.135 of the total" in page.html


@pytest.mark.parametrize(
    ("lang", "research", "assumption"),
    [
        ("kk", "зерттеу есебі, 2020", "болжам:"),
        ("ru", "отчёт об исследовании, 2020", "допущение:"),
        ("en", "research report, 2020", "assumption:"),
    ],
)
async def test_the_methodology_page_cites_sources_in_the_readers_words(
    site: AdminSite, lang: str, research: str, assumption: str
) -> None:
    reader = await site.signed_in(AGENCY_EMAIL)
    await reader.send("/admin/language", ("lang", lang))
    page = await reader.open("/admin/methodology")
    assert page.status == 200 and page.lang == lang
    sources = re.findall(r'<p class="source">(.*?)</p>', page.html, re.S)
    assert sources
    text = " ".join(sources)
    assert research in text and assumption in text
    # never the project's own papers: no domain notes, paragraphs, issues or file names
    for internal in ("DOMAIN", "§", ".yaml", ".md"):
        assert internal not in page.html, internal
    assert not re.search(r"\bissue \d", page.html)


async def test_the_report_card_is_one_agencys_and_only_its_own(
    site: AdminSite, year: ScoredYear
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    own = await almaty.open(f"/admin/agencies/ALA/report?period={PERIOD}")
    assert own.status == 200 and own.heading == "Акимат города Алматы"
    total = expected_value(year, "proposed-s30", "ALA", "total")
    assert total is not None and f"{total:.1f}".replace(".", ",") in own.html
    assert "Частые нарушения" in own.html and "Доля удовлетворённых по месяцам" in own.html
    this_year = await almaty.open("/admin/agencies/ALA/report")  # the newest scored period
    assert this_year.status == 200
    other = await almaty.open(f"/admin/agencies/AST/report?period={PERIOD}")
    assert other.status == 404 and "Астан" not in other.html
    analyst = await site.signed_in(ANALYST_EMAIL)
    assert (await analyst.open("/admin/agencies/AST/report")).status == 200
    assert (await analyst.open("/admin/agencies/NOPE/report")).status == 404
    anonymous = site.person()
    await anonymous.open("/admin/agencies/ALA/report")
    assert anonymous.page is not None and anonymous.page.path == "/admin/login"


def substituted(html: str, tree: str, node: str) -> str:
    """The formula with its values as the page shows it for one node of one tree."""
    part = html.split(f'id="{tree}"', 1)[1].split(f'data-node="{node}"', 1)[1]
    row = part.split("</tr>", 1)[0]
    found = re.search(r'<p class="substituted">.*?<code class="formula">(.*?)</code>', row, re.S)
    assert found, row
    return unescape(found.group(1))


async def test_every_figure_of_the_tree_can_be_recomputed_from_the_page_alone(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open(f"/admin/agencies/KAR?period={PERIOD}")
    assert "Каждое число можно пересчитать вручную" in page.html
    for name in ("kz-2020", "proposed-s30"):
        method = load_methodology(name)
        for node in ("total", "interaction", "deadline_compliance", "satisfaction"):
            text = substituted(page.html, f"tree-{name}", node)
            assert not re.search(
                r"[a-z_]{4,}", text.replace("clamp", "").replace("min", "").replace("max", "")
            ), text
            want = expected_value(year, name, "KAR", node)
            assert want is not None
            assert recompute(text, method) == pytest.approx(want, abs=1e-6), (name, node, text)
    # the inputs a formula read are shown with their values
    row = page.html.split('id="tree-proposed-s30"', 1)[1].split(
        'data-node="deadline_compliance"', 1
    )[1]
    assert "service_deadline_violations = 40" in row.split("</tr>", 1)[0]
    assert "services_delivered = 200000" in row.split("</tr>", 1)[0]
    # the report card carries the same explanation after its one page
    card = await analyst.open(f"/admin/agencies/KAR/report?period={PERIOD}")
    assert "Как получено каждое число" in card.html
    assert 'id="explain-proposed-s30"' in card.html and 'id="explain-kz-2020"' in card.html
    english = await site.signed_in(ADMIN_EMAIL)
    await english.send("/admin/language", ("lang", "en"))
    card = await english.open(f"/admin/agencies/AST/report?period={PERIOD}")
    assert "How each figure was computed" in card.html
    assert ("provisional" in card.html and "40/100" in card.html) or "40" in card.html
