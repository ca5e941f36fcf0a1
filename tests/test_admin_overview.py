"""The overview's invitation funnel (served -> invited -> delivered -> started -> completed)
with its rates, from funnel_daily, and the grade distribution of the latest stored score runs
under both methodologies: shown, drawn as SVG, exported, never computed by opening the page."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.figures import funnel_of
from core.models import ScoreRun
from tests.admin_fixtures import (
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    AdminSite,
    add_funnel,
    running_admin,
)
from tests.conftest import Seed
from tests.ranking_fixtures import PERIOD, add_scored_year


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        await add_funnel(session_factory, seed, running.world)
        yield running


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_the_funnel_counts_each_step_with_its_rates(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open("/admin/")
    assert "Воронка приглашений" in page.html
    assert "62,2\u00a0%" in page.html  # response rate: 280 completed of 450 invited
    assert page.html.count("<rect") >= 5  # the funnel's bars
    assert "не завершённые до истечения приглашения: 33 (10,0\u00a0%)" in page.html
    _s, _h, body = await analyst.download("/admin/?export=funnel&format=csv")
    table = rows_of(body)
    assert table[0] == ["Шаг", "Количество", "Доля от оказанных", "Доля от предыдущего шага"]
    assert table[1:] == [
        ["Оказано", "600", "1.0", ""],
        ["Приглашено", "450", "0.75", "0.75"],
        ["Доставлено", "420", "0.7", "0.9333"],
        ["Начато", "330", "0.55", "0.7857"],
        ["Завершено", "280", "0.4667", "0.8485"],
        ["Брошено (из начатых)", "33", "0.055", "0.1"],
    ]
    status, _h, body = await analyst.download("/admin/?export=funnel&format=xlsx")
    assert status == 200
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert next(v for v in values if v and v[0] == "Завершено")[:2] == ["Завершено", 280]


async def test_an_older_period_leaves_todays_funnel_out_only_when_it_should(
    site: AdminSite,
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    _s, _h, body = await analyst.download("/admin/?days=30&export=funnel&format=csv")
    assert rows_of(body)[1][:2] == ["Оказано", "600"]  # today is within the last 30 days


async def test_an_agency_user_never_sees_the_national_funnel(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/?export=funnel&format=csv")
    assert page.path == "/admin/agencies/ALA"


async def test_without_stored_runs_the_grades_say_how_to_get_them(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open("/admin/")
    assert "Сохранённых расчётов пока нет" in page.html
    async with site.session_factory() as db:
        assert await db.scalar(select(func.count()).select_from(ScoreRun)) == 0  # none made


async def test_the_grades_of_the_latest_runs_under_both_methodologies(site: AdminSite) -> None:
    year = await add_scored_year(site.session_factory)
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open("/admin/")
    assert f"Распределение оценок, {PERIOD}" in page.html
    assert 'class="grade-high"' in page.html or 'class="grade-medium"' in page.html
    for run_id in year.run_ids.values():
        assert f"№ {run_id}" in page.html  # each chart names the run it is drawn from
    _s, _h, body = await analyst.download("/admin/?export=grades&format=csv")
    table = rows_of(body)
    assert table[0] == [
        "Оценка",
        "Органы (kz-2020)",
        "Доля (kz-2020)",
        "Органы (s30)",
        "Доля (s30)",
    ]
    labels = {
        "high": "высокая",
        "medium": "средняя",
        "low": "низкая",
        "ineffective": "неэффективная",
    }
    for index, name in ((1, "kz-2020"), (3, "proposed-s30")):
        frame = year.expected[name]
        totals = frame.loc[frame["node"] == "total"]
        expected = {labels[g]: int(n) for g, n in totals["grade"].dropna().value_counts().items()}
        shown = {row[0]: int(row[index]) for row in table[1:] if row[0] in labels.values()}
        assert {k: v for k, v in shown.items() if v} == expected, name
        ungraded = len(totals) - sum(expected.values())
        assert [int(row[index]) for row in table[1:] if row[0] == "без оценки"] == [ungraded]


async def test_an_agency_reads_its_own_funnel_on_its_pages_and_no_one_elses(
    site: AdminSite,
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/agencies/ALA")
    assert "Воронка приглашений" in page.html and "50,0\u00a0%" in page.html  # 150 of 300
    _s, _h, body = await almaty.download("/admin/agencies/ALA?export=funnel&format=csv")
    assert [row[:2] for row in rows_of(body)[1:]] == [
        ["Оказано", "400"],
        ["Приглашено", "300"],
        ["Доставлено", "280"],
        ["Начато", "200"],
        ["Завершено", "150"],
        ["Брошено (из начатых)", "33"],
    ]
    status, _h, _b = await almaty.download("/admin/agencies/AST?export=funnel&format=csv")
    assert status == 404
    _s, _h, body = await almaty.download(
        "/admin/agencies/ALA/offices/ALA-01?export=funnel&format=csv"
    )
    assert rows_of(body)[1][:2] == ["Оказано", "400"]  # all of Almaty's were at this office
    analyst = await site.signed_in(ANALYST_EMAIL)
    _s, _h, body = await analyst.download(
        "/admin/agencies/AST/services/AST-S1?export=funnel&format=csv"
    )
    assert rows_of(body)[5][:2] == ["Завершено", "130"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=5, max_size=5))
def test_funnel_rates_divide_by_what_came_before_and_never_by_zero(counts: list[int]) -> None:
    found = funnel_of(counts)
    assert [stage.count for stage in found.stages] == counts
    for index, stage in enumerate(found.stages):
        served, previous = counts[0], counts[index - 1] if index else 0
        assert stage.of_served == (stage.count / served if served else None)
        assert stage.of_previous == (stage.count / previous if index and previous else None)
    invited, completed = counts[1], counts[4]
    assert found.response_rate == (completed / invited if invited else None)
    assert found.empty == (sum(counts) == 0)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=5, max_size=5))
def test_a_narrowing_funnel_has_rates_between_zero_and_one(counts: list[int]) -> None:
    narrowing = sorted(counts, reverse=True)
    for stage in funnel_of(narrowing).stages:
        for rate in (stage.of_served, stage.of_previous):
            assert rate is None or 0 <= rate <= 1


async def test_the_first_screen_opens_on_a_period_with_data_and_says_what_it_left_out(
    site: AdminSite, seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import timedelta

    from core.models import Channel, Response, ResponseFlag, ResponseStatus

    completed = site.clock() - timedelta(hours=1)
    async with session_factory() as db:
        for reasons in (["fast_completion"], ["fast_completion", "network_burst"]):
            response = Response(
                survey_id="post_service",
                survey_version="1",
                channel=Channel.WEB,
                language="ru",
                status=ResponseStatus.COMPLETED,
                service_id=seed.service.id,
                completed_at=completed,
            )
            db.add(response)
            await db.flush()
            for reason in reasons:
                db.add(ResponseFlag(response_id=response.id, reason=reason, detail=""))
        await db.commit()

    site.clock.advance(days=200)  # the data is now more than 90 days old
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open("/admin/")
    assert '<option value="365" selected>' in page.html
    assert "600" in page.html  # served services of the funnel, not a page of zeros
    assert "2 заполненных ответа не учтены в этих цифрах" in page.html
    assert "заполнен слишком быстро — 2" in page.html
    assert "много ответов из одной сети — 1" in page.html
    assert "/admin/responses?flagged=yes&amp;days=365" in page.html
    # a chosen period stays chosen, even an empty one
    chosen = await analyst.open("/admin/?days=30")
    assert '<option value="30" selected>' in chosen.html
    assert "не учтены" not in chosen.html
    # an agency user hears the count, without the analysts' list of flags
    agency = await site.signed_in(AGENCY_EMAIL)
    own = await agency.open("/admin/agencies/" + seed.agency.code)
    assert own.status == 200 and '<option value="365" selected>' in own.html
