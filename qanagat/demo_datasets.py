"""Demo open data for `make run`: a small registry per demo body (imported through the registry's
storing path), ratings of its published sets over the demo year, and a few problem reports with
their lifecycle. Deterministic: the same seed gives the same data. The ratings' quality follows
each body's survey profile, so bodies that serve citizens well tend to publish trusted data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day
from core.complaints import complaint_rules, move_to, new_reference
from core.dataset_file import DatasetRow
from core.datasets import store_datasets
from core.models import (
    Agency,
    Channel,
    Complaint,
    ComplaintStatus,
    Dataset,
    DatasetProblem,
    DatasetRating,
    DatasetState,
    RatingStatus,
    UpdateFrequency,
)
from core.working_days import kazakhstan_calendar
from qanagat.demo_indicators import DEMO_PERIOD, Profile

EXTERNAL_PREFIX = "DEMO-DS-"
SURVEY_ID, SURVEY_VERSION = "dataset_feedback", "demo"
# The scoring minimum sample is 100: every body gets more, so its open-data figures count, and
# its first set (the most used, as on the portal) often reaches it alone for the national lists.
MIN_RATINGS, EXTRA_RATINGS = 130, 90
USE = (0.65, 0.15, 0.1, 0.1)  # how the ratings spread over a body's sets, in the TITLES order
BATCH = 1000

# title (kk, ru, en), update frequency; the last one is only planned at the weaker bodies
TITLES = (
    (
        ("Көрсетілетін мемлекеттік қызметтер тізілімі", "Реестр оказываемых государственных услуг"),
        "Register of public services delivered",
        UpdateFrequency.QUARTERLY,
    ),
    (
        ("Азаматтардың өтініштері статистикасы", "Статистика обращений граждан"),
        "Statistics of citizens' appeals",
        UpdateFrequency.MONTHLY,
    ),
    (
        ("Бюджет шығыстары", "Расходы бюджета"),
        "Budget expenditure",
        UpdateFrequency.YEARLY,
    ),
    (
        ("Ведомстволық бағынысты ұйымдар тізбесі", "Перечень подведомственных организаций"),
        "List of subordinate organisations",
        UpdateFrequency.IRREGULAR,
    ),
)


async def is_loaded(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(Dataset.id).where(Dataset.external_id.startswith(EXTERNAL_PREFIX)).limit(1)
    )
    return found is not None


def registry_rows(agencies: list[Agency], strengths: dict[str, float]) -> list[DatasetRow]:
    """Four sets per body; the weaker half has its last one planned, not published yet."""
    rows: list[DatasetRow] = []
    year = int(DEMO_PERIOD)
    for agency in agencies:
        strength = strengths.get(agency.code, 0.5)
        for number, ((kk, ru), en, frequency) in enumerate(TITLES, start=1):
            published = number < len(TITLES) or strength >= 0.5
            # strong bodies refreshed their sets late in the year, weak ones long ago
            updated = date(year, 1, 1) + timedelta(days=int(60 + 300 * strength))
            rows.append(
                DatasetRow(
                    line=len(rows) + 2,
                    external_id=f"{EXTERNAL_PREFIX}{agency.code}-{number}",
                    agency=agency.code,
                    title_kk=f"{agency.name_kk}: {kk}",
                    title_ru=f"{agency.name_ru}: {ru}",
                    title_en=f"{agency.name_en}: {en}",
                    url=f"https://data.egov.kz/datasets/view?index=demo_{agency.code.lower()}_{number}",
                    update_frequency=frequency,
                    last_updated=updated if published else None,
                    state=DatasetState.PUBLISHED if published else DatasetState.PLANNED,
                )
            )
    return rows


def _moment(rng: random.Random) -> datetime:
    year = int(DEMO_PERIOD)
    start = datetime(year, 1, 1, 3, 0, tzinfo=UTC)  # 08:00 in Kazakhstan
    return start + timedelta(days=rng.randrange(364), minutes=rng.randrange(12 * 60))


async def load(session: AsyncSession, profiles: list[Profile], seed: int = 2026) -> int:
    """Add the demo registry, ratings and problem reports (once); the number of ratings."""
    if await is_loaded(session):
        return 0
    rng = random.Random(seed)
    quality = {profile.code: profile.survey_quality for profile in profiles}
    strengths = {profile.code: profile.strength for profile in profiles}
    agencies = list(await session.scalars(select(Agency).order_by(Agency.id)))
    await store_datasets(session, registry_rows(agencies, strengths))
    await session.flush()
    published: dict[int, list[Dataset]] = {}
    for dataset in await session.scalars(
        select(Dataset).where(Dataset.state == DatasetState.PUBLISHED).order_by(Dataset.id)
    ):
        published.setdefault(dataset.agency_id, []).append(dataset)
    ratings = []
    for agency in agencies:
        good = quality.get(agency.code, 0.6)
        for _ in range(MIN_RATINGS + rng.randrange(EXTRA_RATINGS)):
            sets = published[agency.id]
            dataset = rng.choices(sets, weights=USE[: len(sets)])[0]
            at = _moment(rng)
            overall = max(1, min(5, round(rng.gauss(1 + 4 * good, 0.9))))
            values = {
                "found": rng.random() < 0.5 + 0.45 * good,
                "complete": rng.random() < 0.3 + 0.6 * good,
                "current": rng.random() < 0.3 + 0.6 * good,
                "verifiable": rng.random() < 0.2 + 0.7 * good,
            }
            ratings.append(
                {
                    "dataset_id": dataset.id,
                    "respondent_id": None,  # demo ratings stand for people who left (/stop)
                    "day": reporting_day(at),
                    "channel": rng.choice([Channel.TELEGRAM, Channel.WEB]),
                    "language": rng.choice(["kk", "ru"]),
                    "survey_id": SURVEY_ID,
                    "survey_version": SURVEY_VERSION,
                    "status": RatingStatus.COMPLETED,
                    "answers": {**values, "overall": overall},
                    **values,
                    "overall": overall,
                    "started_at": at - timedelta(minutes=2),
                    "updated_at": at,
                    "completed_at": at,
                }
            )
        await _problem_reports(session, rng, agency, published[agency.id], good)
    for start in range(0, len(ratings), BATCH):
        batch = ratings[start : start + BATCH]
        await session.execute(insert(cast(Table, DatasetRating.__table__)), batch)
    return len(ratings)


async def _problem_reports(
    session: AsyncSession,
    rng: random.Random,
    agency: Agency,
    datasets: list[Dataset],
    good: float,
) -> None:
    """0-3 reports about the body's sets: a good body answers within the deadline, a weak one
    late or not at all."""
    calendar = kazakhstan_calendar()
    days = complaint_rules().default_working_days
    for _ in range(rng.randrange(4)):
        received = _moment(rng)
        deadline = calendar.add_working_days(reporting_day(received), days)
        report = Complaint(
            reference=new_reference(),
            agency_id=agency.id,
            dataset_id=rng.choice(datasets).id,
            problem=rng.choice(list(DatasetProblem)),
            text="Деректер жинағында кейбір бағандар бос / В наборе данных пустые столбцы",
            language="ru",
            consent_to_answer=False,
            status=ComplaintStatus.DRAFT,
            created_at=received,
            updated_at=received,
        )
        session.add(report)
        move_to(session, report, ComplaintStatus.RECEIVED, "citizen", received)
        report.deadline = deadline
        if rng.random() < 0.3 + 0.6 * good:
            late = rng.random() > good
            answer_day = deadline + timedelta(days=rng.randrange(1, 10) if late else -1)
            answered = datetime.combine(answer_day, received.timetz())
            move_to(session, report, ComplaintStatus.ANSWERED, "demo@qanagat.kz", answered)
            report.answer_text = "Набор обновлён / Жинақ жаңартылды"


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DatasetRating)) or 0)
