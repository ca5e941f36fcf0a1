"""Open data as the admin sees it: one agency's data sets with their users' ratings, open
problem reports and update lateness, and the national lists of the most and least trusted sets.
Shares are shown only from the minimum sample up, with Wilson 95 % intervals, as for services;
an agency user reads its own agency's sets only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.figures import MIN_SAMPLE, Share, shares
from admin.scope import Reader, scope
from core.complaints import OPEN_STATUSES
from core.dataset_inputs import SATISFIED_FROM
from core.datasets import overdue_days
from core.models import (
    Agency,
    Complaint,
    Dataset,
    DatasetRating,
    DatasetState,
    RatingStatus,
    UpdateFrequency,
)

TRUSTED_LIST = 10  # sets in each of the national lists


@dataclass(frozen=True)
class DatasetLine:
    agency_code: str
    agency_name: str
    external_id: str
    title: str
    url: str
    state: DatasetState
    frequency: UpdateFrequency
    ratings: int
    satisfied: Share
    verifiable: Share
    open_problems: int
    last_updated: date | None
    overdue_days: int | None


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def dataset_lines(
    db: AsyncSession,
    reader: Reader,
    lang: str,
    today: date,
    since: date | None,
    agency_id: int | None = None,
    min_sample: int = MIN_SAMPLE,
) -> list[DatasetLine]:
    """Every data set the reader may see (of one agency, or all), with its completed ratings
    since `since` (None: all time) and its problem reports open now."""
    rated = select(
        DatasetRating.dataset_id,
        func.count().label("ratings"),
        _count(DatasetRating.overall >= SATISFIED_FROM).label("satisfied"),
        _count(DatasetRating.overall.is_not(None)).label("overall"),
        _count(DatasetRating.verifiable.is_(True)).label("verifiable"),
        _count(DatasetRating.verifiable.is_not(None)).label("verifiable_answered"),
    ).where(DatasetRating.status == RatingStatus.COMPLETED)
    if since is not None:
        rated = rated.where(DatasetRating.day >= since)
    ratings = rated.group_by(DatasetRating.dataset_id).subquery()
    problems = (
        select(Complaint.dataset_id, func.count().label("open"))
        .where(Complaint.dataset_id.is_not(None), Complaint.status.in_(OPEN_STATUSES))
        .group_by(Complaint.dataset_id)
        .subquery()
    )
    query = (
        select(
            Agency.code,
            getattr(Agency, f"name_{lang}"),
            Dataset,
            func.coalesce(ratings.c.ratings, 0),
            func.coalesce(ratings.c.satisfied, 0),
            func.coalesce(ratings.c.overall, 0),
            func.coalesce(ratings.c.verifiable, 0),
            func.coalesce(ratings.c.verifiable_answered, 0),
            func.coalesce(problems.c.open, 0),
        )
        .join(Agency, Agency.id == Dataset.agency_id)
        .outerjoin(ratings, ratings.c.dataset_id == Dataset.id)
        .outerjoin(problems, problems.c.dataset_id == Dataset.id)
        .order_by(Agency.code, Dataset.title_ru, Dataset.id)
    )
    query = scope(query, reader, Dataset.agency_id)
    if agency_id is not None:
        query = query.where(Dataset.agency_id == agency_id)
    rows = (await db.execute(query)).tuples().all()
    satisfied = shares([r[4] for r in rows], [r[5] for r in rows], min_sample)
    verifiable = shares([r[6] for r in rows], [r[7] for r in rows], min_sample)
    return [
        DatasetLine(
            agency_code=code,
            agency_name=name,
            external_id=dataset.external_id,
            title=dataset.title(lang),
            url=dataset.url,
            state=dataset.state,
            frequency=dataset.update_frequency,
            ratings=int(count),
            satisfied=satisfied_share,
            verifiable=verifiable_share,
            open_problems=int(open_problems),
            last_updated=dataset.last_updated,
            overdue_days=overdue_days(
                dataset.update_frequency, dataset.last_updated, dataset.state, today
            ),
        )
        for (
            code,
            name,
            dataset,
            count,
            *_,
            open_problems,
        ), satisfied_share, verifiable_share in zip(rows, satisfied, verifiable, strict=True)
    ]


def most_and_least_trusted(
    lines: list[DatasetLine], size: int = TRUSTED_LIST
) -> tuple[list[DatasetLine], list[DatasetLine]]:
    """The sets with a verifiable share (enough ratings), best first and worst first; ties by
    more ratings, then title. A set is in one list only when there are few."""
    known = [line for line in lines if line.verifiable.share is not None]
    best = sorted(known, key=lambda x: (-(x.verifiable.share or 0), -x.ratings, x.title))
    most = best[:size]
    rest = [line for line in reversed(best) if line not in most]
    return most, rest[:size]
