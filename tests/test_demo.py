"""The demo data of `make run`: 33 bodies each above the minimum sample, rollups that match the
stored answers exactly as live completions would count them, the shipped indicators file that
its generator writes, and a believable spread of grades under both methodologies."""

from __future__ import annotations

import io
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.flow import metric_values
from core.integrity import ledger
from core.models import Answer, DailyRollup, PublicService, Response
from core.periods import parse_period
from core.rollups import merge_rollup_rows, rollup_rows
from core.score_runs import latest_score_run, published_score_runs, score_run_values
from qanagat import demo, demo_indicators
from qanagat.scores import database_inputs
from scoring import load_methodology, score
from tests.conftest import LENIENT, SURVEYS
from tests.db_backends import both_databases_fixture  # noqa: F401

SURVEY = SURVEYS["post_service"]


def test_the_shipped_indicators_file_is_what_its_generator_writes() -> None:
    out = io.StringIO()
    demo_indicators.write(out)
    assert demo_indicators.INDICATORS_FILE.read_text() == out.getvalue()


def test_responses_are_shared_with_a_floor_for_every_body() -> None:
    counts = demo._allocate(6600, [0.5, 1.0, 2.5] * 11)
    assert sum(counts) == 6600 and min(counts) > 100
    # fewer responses than bodies x the floor: shared as evenly as they go
    assert sorted(demo._allocate(120, [1.0] * 33)) == [3] * 12 + [4] * 21


async def _rollups_from_answers(session: AsyncSession) -> list[tuple[object, ...]]:
    """What live completions of the stored responses would have added to the rollups."""
    agency_of = dict(
        (await session.execute(select(PublicService.id, PublicService.agency_id))).all()
    )
    answers: dict[int, dict[str, object]] = defaultdict(dict)
    for response_id, question, value in await session.execute(
        select(Answer.response_id, Answer.question, Answer.value)
    ):
        answers[response_id][question] = value
    rows = []
    for response in await session.scalars(select(Response)):
        metrics = metric_values(SURVEY, answers[response.id])  # type: ignore[arg-type]
        rows.extend(rollup_rows(response, agency_of[response.service_id], metrics))
    return sorted(
        (r["day"], r["agency_id"], r["service_id"], r["service_point_key"], r["metric"],
         r["value_key"], r["count"])
        for r in merge_rollup_rows(rows)
    )  # fmt: skip


async def test_demo_load_gives_every_body_a_sample_and_rollups_equal_to_live_ones(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        first = await demo.load(session, SURVEY, b"secret", LENIENT)
    async with both_databases() as session:
        again = await demo.load(session, SURVEY, b"secret", LENIENT)
    assert first == again  # a rerun adds nothing
    assert (first.agencies, first.responses) == (33, demo.DEMO_RESPONSES)
    # four open data sets per body, at least 130 ratings each (above the minimum sample)
    assert first.datasets == 33 * 4 and first.dataset_ratings >= 33 * 130
    assert first.indicators == len(demo_indicators.INDICATORS_FILE.read_text().splitlines()) - 1

    async with both_databases() as session:
        stored = sorted(
            (r.day, r.agency_id, r.service_id, r.service_point_key, r.metric, r.value_key, r.count)
            for r in await session.scalars(select(DailyRollup))
        )
        assert stored == await _rollups_from_answers(session)
        per_body = (
            await session.execute(
                select(DailyRollup.agency_id, func.sum(DailyRollup.count))
                .where(DailyRollup.metric == "responses")
                .group_by(DailyRollup.agency_id)
            )
        ).all()
        assert len(per_body) == 33 and min(count for _, count in per_body) > 100
        inputs, agencies = await database_inputs(session, parse_period(demo.DEMO_PERIOD))
        # every demo response is in the ledger, in completion order, and the chain verifies
        chain = await ledger.verify(session)
        assert chain.ok, chain.problem
        assert chain.entries == demo.DEMO_RESPONSES
        # the stored runs are of the shipped versions (the research's proposal, 2026.3)
        for name in ("kz-2020", "proposed-s30"):
            run = await latest_score_run(session, name, demo.DEMO_PERIOD)
            assert run is not None and run.methodology_hash == load_methodology(name).hash
            stored = await score_run_values(session, run.id, nodes=["total"])
            assert set(stored["status"]) == {"ok"}
        # the demo publishes its year: one run per methodology, the newest
        published = await published_score_runs(session, demo.DEMO_PERIOD)
        assert sorted(run.methodology for run in published) == ["kz-2020", "proposed-s30"]
        assert all(run.published_by == "demo" and run.published_at for run in published)

    grades = {}
    for name in ("kz-2020", "proposed-s30"):
        totals = score(load_methodology(name), inputs, agencies).query("node == 'total'")
        assert (totals["status"] == "ok").all(), totals.loc[totals["status"] != "ok"]
        grades[name] = set(totals["grade"])
        assert totals["value"].max() - totals["value"].min() > 30
    # some bodies high, some medium, some low, under either methodology
    assert {"high", "medium", "low"} <= grades["kz-2020"]
    assert {"high", "medium", "low"} <= grades["proposed-s30"]
