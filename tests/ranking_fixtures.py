"""A scored year for the admin's ranking tests: the admin world (Almaty, Astana, the Ministry of
Justice) plus two more akimats, official indicators for 2025 imported through the import path,
and score runs of both methodologies stored through the same path as `qanagat score`.

Astana's survey sample is below the minimum (its S is "insufficient sample"), the ministry has no
openness score (its openness direction is "missing"), and the akimats are set so that lifting
satisfaction out changes their order (Almaty climbs, Shymkent falls) and Karaganda's grade."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.indicator_uploads import input_rules
from core.indicators import check_indicator_file, store_indicators
from core.models import Agency, AgencyKind, ScoreRun
from core.periods import parse_period
from core.score_runs import publish_score_run
from qanagat.scores import database_inputs, score_period
from scoring import compare, load_methodology, score

PERIOD = "2025"

BASE = {
    "services_delivered": 200_000,
    "service_deadline_violations": 40,
    "unjustified_refusals": 10,
    "incomplete_package_services": 30,
    "extra_documents_requests": 60,
    "quality_complaints": 20,
    "automation_score": 80,
    "open_data_planned": 100,
    "open_data_published": 90,
    "complaints_reviewed": 2_000,
    "complaints_late": 1,
    "complaints_court_upheld": 0,
    "complaints_repeat_justified": 4,
    "internal_control_share": 0.85,
    "responses": 400,
    "full_package_once_rate": 0.9,
    "automation_in_period": 70,
    "proactive_services_share": 0.3,
    "legal_acts_monitoring": 0.8,
    "legal_acts_recommendations": 0.7,
    "legal_acts_proposals_adopted": 0.5,
    "legal_acts_users_satisfied": 0.75,
    "legal_acts_publications": 0.9,
    "legal_acts_public_organisations": 0.6,
    # open-data feedback set so the reliability of data (80·0.875 + 20) equals the publication
    # share (90 %): the open-data criterion reads as it did before it had the indicator
    "dataset_ratings": 400,
    "dataset_verifiable_share": 0.875,
    "dataset_problems_due": 4,
    "dataset_problems_resolved_in_time": 4,
}
# Per agency: what differs from BASE. ALA: citizens happy, weak elsewhere; SHY the opposite.
PROFILES: dict[str, dict[str, float]] = {
    "ALA": {
        "goal_achievement": 82,
        "hr_management": 78,
        "it_use": 78,
        "openness_score": 60,
        "satisfied_share": 0.93,
    },
    "SHY": {
        "goal_achievement": 80,
        "hr_management": 80,
        "it_use": 80,
        "openness_score": 90,
        "satisfied_share": 0.41,
    },
    "KAR": {
        "goal_achievement": 95,
        "hr_management": 95,
        "it_use": 95,
        "openness_score": 95,
        "satisfied_share": 0.5,
    },  # high under kz-2020, medium once satisfaction weighs 0.135
    "AST": {
        "goal_achievement": 82,
        "hr_management": 75,
        "it_use": 75,
        "openness_score": 75,
        "satisfied_share": 0.6,
        "responses": 40,  # below the minimum sample of 100
    },
    "MJ": {
        "goal_achievement": 90,
        "hr_management": 88,
        "it_use": 92,
        "satisfied_share": 0.8,
    },  # no openness_score: the ministry's openness is missing
}
MISSING_FOR_MJ = "openness_score"


@dataclass(frozen=True)
class ScoredYear:
    expected: dict[str, pd.DataFrame]  # methodology -> what scoring.score gives
    comparison: pd.DataFrame  # scoring.compare of the two, ranks within kinds
    run_ids: dict[str, int]


def indicator_file() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["agency", "period", "input", "value"])
    for code, profile in PROFILES.items():
        values = {**BASE, **profile}
        # the openness criteria other than open data and legal acts, as the portals report
        if "openness_score" in values:
            values["openness_other_score"] = values["openness_score"]
        if code == "MJ":
            values.pop(MISSING_FOR_MJ, None)
        for name, value in values.items():
            writer.writerow([code, PERIOD, name, value])
    return buffer.getvalue().encode()


async def add_scored_year(session_factory: async_sessionmaker[AsyncSession]) -> ScoredYear:
    async with session_factory() as db:
        for code, kk, ru, en in (
            ("SHY", "Шымкент қаласының әкімдігі", "Акимат города Шымкента", "Akimat of Shymkent"),
            (
                "KAR",
                "Қарағанды облысының әкімдігі",
                "Акимат Карагандинской области",
                "Akimat of Karaganda region",
            ),
        ):
            db.add(
                Agency(
                    code=code,
                    kind=AgencyKind.LOCAL,
                    region=code,
                    name_kk=kk,
                    name_ru=ru,
                    name_en=en,
                )
            )
        await db.flush()
        rows = await check_indicator_file(db, indicator_file(), "test.csv", input_rules())
        await store_indicators(db, rows, "test.csv")
        await db.commit()
        period = parse_period(PERIOD)
        inputs, agencies = await database_inputs(db, period)
        runs = await score_period(db, period)
        await db.commit()
    expected = {
        name: score(load_methodology(name), inputs, agencies)
        for name in ("kz-2020", "proposed-s30")
    }
    comparison = compare(expected["kz-2020"], expected["proposed-s30"], agencies=agencies)
    run_ids = {run.methodology.name: run.run_id for run in runs if run.run_id is not None}
    return ScoredYear(expected, comparison, run_ids)


def expected_value(year: ScoredYear, methodology: str, agency: str, node: str) -> float | None:
    frame = year.expected[methodology]
    row = frame.loc[(frame["agency"] == agency) & (frame["node"] == node)].iloc[0]
    value = row["value"]
    return None if pd.isna(value) else float(value)


async def publish_scored_year(
    session_factory: async_sessionmaker[AsyncSession], year: ScoredYear
) -> None:
    """Publish the year's runs of both methodologies, as the demo does."""
    async with session_factory() as db:
        for run_id in year.run_ids.values():
            run = await db.get(ScoreRun, run_id)
            assert run is not None
            await publish_score_run(db, run, by="test")
        await db.commit()
