"""Stored score runs as an admin manages them and an agency reads them: "compute now" on a period
whose inputs give no body a total stores nothing, says why and leaves the pages on the period
they opened on; an admin deletes a run after confirming it (audited), others cannot; an agency
sees its own rank and how the totals of its kind are spread, and no other body's name."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator

import pandas as pd
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.standings import DRAWS
from core.models import ScoreRankRange, ScoreRun, ScoreRunAgency, ScoreRunInput, ScoreValue
from core.periods import parse_period
from qanagat.scores import database_inputs, score_period
from scoring import load_methodology
from scoring.methodology import ARCHIVE_DIR
from scoring.sensitivity import sensitivity
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, ANALYST_EMAIL, AdminSite, running_admin
from tests.conftest import Seed
from tests.ranking_fixtures import PERIOD, ScoredYear, add_scored_year, expected_value


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


@pytest.fixture
async def year(site: AdminSite) -> ScoredYear:
    return await add_scored_year(site.session_factory)


async def run_count(site: AdminSite) -> int:
    async with site.session_factory() as db:
        return int(await db.scalar(select(func.count()).select_from(ScoreRun)) or 0)


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def opens_on(html: str, period: str) -> bool:
    return f'<option value="{period}" selected>' in html


async def test_compute_now_without_totals_refuses_stores_nothing_and_keeps_the_period(
    site: AdminSite, year: ScoredYear
) -> None:
    # this year has survey responses (the admin world's rollups) but no official indicators
    this_year = str(site.clock().year)
    admin = await site.signed_in(ADMIN_EMAIL)
    assert opens_on((await admin.open("/admin/ranking")).html, PERIOD)
    before = await run_count(site)
    refused = await admin.send("/admin/ranking/compute", ("period", this_year))
    assert refused.status == 409
    assert refused.heading == "Расчёт не сохранён"
    assert f"Из данных за {this_year} не получается оценка ни одного органа" in refused.html
    assert "Достижение целей и бюджетные программы" in refused.html  # the block lacking
    assert "goal_achievement" in refused.html  # what no body has, by name
    assert await run_count(site) == before
    assert not [e for e in await site.audit() if e.action == "scores_computed"]
    # the pages still open on the scored year
    assert opens_on((await admin.open("/admin/ranking")).html, PERIOD)
    assert opens_on((await admin.open("/admin/agencies/ALA")).html, PERIOD)
    # in English, the reason is in English
    await admin.send("/admin/language", ("lang", "en"))
    english = await admin.send("/admin/ranking/compute", ("period", this_year))
    assert f"The inputs for {this_year} evaluate no body" in english.html
    assert await run_count(site) == before


async def test_a_run_that_evaluates_nobody_opens_but_is_not_where_the_pages_open(
    site: AdminSite, year: ScoredYear
) -> None:
    this_year = str(site.clock().year)
    async with site.session_factory() as db:  # as an older version's "compute now" did
        runs = await score_period(db, parse_period(this_year))
        await db.commit()
    assert runs
    analyst = await site.signed_in(ANALYST_EMAIL)
    assert opens_on((await analyst.open("/admin/ranking")).html, PERIOD)
    assert opens_on((await analyst.open("/admin/agencies/AST/report")).html, PERIOD)
    stored = await analyst.open(f"/admin/ranking?period={this_year}")
    assert stored.status == 200 and opens_on(stored.html, this_year)
    for run in runs:
        assert f"№ {run.run_id}" in stored.html


async def test_an_admin_deletes_a_run_after_confirming_and_the_audit_log_keeps_it(
    site: AdminSite, year: ScoredYear
) -> None:
    run_id = year.run_ids["proposed-s30"]
    analyst = await site.signed_in(ANALYST_EMAIL)
    listed = await analyst.open(f"/admin/ranking?period={PERIOD}")
    assert f"Все сохранённые расчёты за {PERIOD} (2)" in listed.html
    assert f"/admin/ranking/runs/{run_id}/delete" not in listed.html  # analysts read only
    assert (await analyst.open(f"/admin/ranking/runs/{run_id}/delete")).status == 403
    assert (await analyst.send(f"/admin/ranking/runs/{run_id}/delete")).status == 403

    admin = await site.signed_in(ADMIN_EMAIL)
    listed = await admin.open(f"/admin/ranking?period={PERIOD}")
    assert f"/admin/ranking/runs/{run_id}/delete" in listed.html
    confirm = await admin.open(f"/admin/ranking/runs/{run_id}/delete")
    assert confirm.status == 200 and confirm.heading == f"Удаление расчёта № {run_id}"
    assert "proposed-s30" in confirm.html and "сейчас показывается" in confirm.html
    assert await run_count(site) == 2  # opening the confirmation deletes nothing
    no_token = await admin.post(f"/admin/ranking/runs/{run_id}/delete", [])
    assert no_token.status == 403 and await run_count(site) == 2
    done = await admin.send(f"/admin/ranking/runs/{run_id}/delete")
    assert done.status == 200 and done.path == "/admin/ranking"
    assert f"Расчёт № {run_id} удалён." in done.html
    assert "Нет расчёта за 2025" in done.html  # proposed-s30 has no run left for the year
    async with site.session_factory() as db:
        assert await db.get(ScoreRun, run_id) is None
        left = await db.scalar(
            select(func.count()).select_from(ScoreValue).where(ScoreValue.run_id == run_id)
        )
    assert left == 0
    [event] = [e for e in await site.audit() if e.action == "score_run_deleted"]
    assert event.actor == ADMIN_EMAIL
    assert event.details["run"] == run_id and event.details["period"] == PERIOD
    assert event.details["methodology"] == "proposed-s30" and len(event.details["hash"]) == 64
    audit = await admin.open("/admin/audit")
    assert "Расчёт удалён" in audit.html
    # the other methodology's run still opens; a deleted or made-up run is not found
    kept = await admin.open(f"/admin/agencies/MJ?period={PERIOD}")
    assert 'id="tree-kz-2020"' in kept.html and 'id="tree-proposed-s30"' not in kept.html
    assert (await admin.open(f"/admin/ranking/runs/{run_id}/delete")).status == 404
    assert (await admin.send(f"/admin/ranking/runs/{run_id}/delete")).status == 404
    assert (await admin.open("/admin/ranking/runs/x1/delete")).status == 404


async def test_an_agency_sees_its_rank_and_the_spread_of_its_kind_but_no_other_name(
    site: AdminSite, year: ScoredYear
) -> None:
    comparison = year.comparison.set_index("agency")
    local = ["ALA", "AST", "SHY", "KAR"]
    ranked_b = sum(1 for code in local if str(comparison.loc[code, "rank_b"]) != "<NA>")
    rank_b = int(comparison.loc["ALA", "rank_b"])
    rank_a = int(comparison.loc["ALA", "rank_a"])
    almaty = await site.signed_in(AGENCY_EMAIL)
    for path in (
        f"/admin/agencies/ALA?period={PERIOD}",
        f"/admin/agencies/ALA/report?period={PERIOD}",
    ):
        page = await almaty.open(path)
        assert page.status == 200
        assert "Место в рейтинге" in page.html
        assert f"{rank_b}-е место из {ranked_b} среди местных органов" in page.html
        assert f"{rank_a}-е место из" in page.html
        assert "Оценки 4 органов этого вида" in page.html
        assert page.html.count('class="strip-other"') >= 2 * (ranked_b - 1)
        for other in ("Шымкент", "Караганд", "Астан", "Министерство", "SHY", "KAR"):
            assert other not in page.html, (path, other)
    # the ranking itself shows the agency its own row only
    ranking = await almaty.open(f"/admin/ranking?period={PERIOD}")
    assert "Акимат города Алматы" in ranking.html
    assert "Шымкент" not in ranking.html and "Министерство" not in ranking.html
    # the ministry is ranked among central bodies, on its own
    analyst = await site.signed_in(ANALYST_EMAIL)
    ministry = await analyst.open(f"/admin/agencies/MJ?period={PERIOD}")
    assert "среди центральных органов" in ministry.html


async def test_rank_ranges_are_drawn_from_the_runs_own_inputs_stored_and_shown(
    site: AdminSite, year: ScoredYear
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open(f"/admin/ranking?period={PERIOD}")
    assert "Для этих расчётов диапазоны мест ещё не построены" in page.html
    almaty = await site.signed_in(AGENCY_EMAIL)
    await almaty.open(f"/admin/agencies/ALA?period={PERIOD}")
    refused = await almaty.send("/admin/ranking/ranges", ("period", PERIOD))
    assert refused.status == 403  # agencies read their range, they do not draw

    drawn = await analyst.send("/admin/ranking/ranges", ("period", PERIOD))
    assert drawn.status == 200 and f"Диапазоны мест за {PERIOD} сохранены." in drawn.html
    assert "ещё не построены" not in drawn.html
    [event] = [e for e in await site.audit() if e.action == "rank_ranges_drawn"]
    assert sorted(event.details["runs"]) == sorted(year.run_ids.values())
    assert event.details["draws"] == DRAWS

    # the same draws as scoring.sensitivity over the period's inputs, seed 0
    async with site.session_factory() as db:
        inputs, agencies = await database_inputs(db, parse_period(PERIOD))
    for name, short in (("kz-2020", "kz-2020"), ("proposed-s30", "s30")):
        want = sensitivity(load_methodology(name), inputs, agencies, DRAWS, 0).set_index("agency")
        for table, codes in (
            ("ranking_local", ("ALA", "AST", "SHY", "KAR")),
            ("ranking_central", ("MJ",)),
        ):
            _s, _h, body = await analyst.download(
                f"/admin/ranking?period={PERIOD}&export={table}&format=csv"
            )
            rows = {row["Код"]: row for row in rows_of(body)}
            for code in codes:
                low = rows[code][f"Диапазон места, 5–95 % ({short}): 5-й процентиль"]
                high = rows[code][f"Диапазон места, 5–95 % ({short}): 95-й процентиль"]
                expected = want.loc[code]
                if pd.isna(expected["rank_p05"]):
                    assert (low, high) == ("", "")
                else:
                    assert (int(low), int(high)) == (
                        int(expected["rank_p05"]),
                        int(expected["rank_p95"]),
                    )
    # the screen shows the range beside the rank
    assert 'class="rank-range"' in drawn.html
    # drawing again changes nothing and stores no second copy
    again = await analyst.send("/admin/ranking/ranges", ("period", PERIOD))
    assert again.status == 200
    async with site.session_factory() as db:
        stored = await db.scalar(select(func.count()).select_from(ScoreRankRange))
    assert stored == 2 * 5
    # the agency reads its own range and its chance of each grade on its page
    own = await almaty.open(f"/admin/agencies/ALA?period={PERIOD}")
    assert "При изменении допущений место в пределах" in own.html


async def test_a_run_that_kept_no_inputs_cannot_be_redrawn_and_says_so(
    site: AdminSite, year: ScoredYear
) -> None:
    async with site.session_factory() as db:  # as runs stored before they kept their inputs
        await db.execute(delete(ScoreRunInput))
        await db.execute(delete(ScoreRunAgency))
        await db.commit()
    analyst = await site.signed_in(ANALYST_EMAIL)
    await analyst.open(f"/admin/ranking?period={PERIOD}")
    answer = await analyst.send("/admin/ranking/ranges", ("period", PERIOD))
    assert answer.status == 200 and "не сохранили исходные данные" in answer.html
    tree = await analyst.open(f"/admin/agencies/MJ?period={PERIOD}")
    assert "Этот расчёт не сохранил свои исходные данные" in tree.html
    assert 'id="tree-proposed-s30"' in tree.html  # the run still opens


async def test_a_run_stored_by_an_earlier_version_still_opens_in_readers_words(
    site: AdminSite, year: ScoredYear
) -> None:
    # as runs stored before this version look: an earlier file's hash, no reasons, no inputs
    archived = sorted(ARCHIVE_DIR.glob("kz-2020-*.yaml"))[-1]
    digest = hashlib.sha256(archived.read_bytes()).hexdigest()
    run_id = year.run_ids["kz-2020"]
    async with site.session_factory() as db:
        run = await db.get(ScoreRun, run_id)
        assert run is not None
        run.methodology_hash = digest
        await db.execute(update(ScoreValue).where(ScoreValue.run_id == run_id).values(reason=None))
        await db.execute(delete(ScoreRunInput).where(ScoreRunInput.run_id == run_id))
        await db.execute(delete(ScoreRunAgency).where(ScoreRunAgency.run_id == run_id))
        await db.commit()
    analyst = await site.signed_in(ANALYST_EMAIL)
    for path in (
        f"/admin/agencies/KAR?period={PERIOD}",
        f"/admin/agencies/KAR/report?period={PERIOD}",
        f"/admin/ranking?period={PERIOD}",
    ):
        page = await analyst.open(path)
        assert page.status == 200, path
        assert "DOMAIN" not in page.html and "§" not in page.html, path
    page = await analyst.open(f"/admin/agencies/KAR?period={PERIOD}")
    assert f"№ {run_id}" in page.html and "файл методики изменился" in page.html
    tree = page.html.split('id="tree-kz-2020"', 1)[1].split("</table>", 1)[0]
    assert 'data-node="total"' in tree
    total = expected_value(year, "kz-2020", "KAR", "total")
    assert total is not None and f"{total:.1f}".replace(".", ",") in tree
    assert "Этот расчёт не сохранил свои исходные данные" in page.html
