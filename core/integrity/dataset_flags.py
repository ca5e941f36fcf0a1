"""Anti-gaming for open-data ratings: the service responses' rules (rules.yaml), applied when
a rating is completed. A flagged rating is kept with its reason and left out of the open-data
inputs (core/dataset_inputs.py):

  fast_completion    completed sooner than `min_seconds` after it was opened
  respondent_burst   more than `max_responses` completed by one person within the window
  network_burst      web: more than `max_responses` from one network within the window

One rating per person, set and day is the table's unique key already. Problem reports are
limited too: from one network (or one person, in Telegram) at most
PROBLEM_REPORTS_PER_NETWORK a day, and one a day about the same set; beyond that the rating
is kept and no report is filed (each would be a complaint with a deadline for an agency)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.integrity.flags import FAST, NETWORK_BURST, RESPONDENT_BURST, Rules
from core.models import Complaint, DatasetRating, RatingStatus

PROBLEM_REPORTS_PER_NETWORK = 3
PROBLEM_REPORTS_PER_SET = 1
REPORT_WINDOW = timedelta(days=1)


async def judge_rating(
    session: AsyncSession,
    rules: Rules,
    *,
    rating_id: int,
    respondent_id: int,
    started_at: datetime,
    now: datetime,
    digest: bytes | None,
) -> str | None:
    """Why the rating just completed must not count, or None. Counts the other completed
    ratings, so a burst's first `max_responses` count and the rest do not."""
    if (now - started_at).total_seconds() < rules.fast_completion.min_seconds:
        return FAST

    async def others_since(same: ColumnElement[bool], window: timedelta) -> int:
        """Other completed ratings matching `same` within `window` before now."""
        count = await session.scalar(
            select(func.count(DatasetRating.id)).where(
                DatasetRating.id != rating_id,
                DatasetRating.status == RatingStatus.COMPLETED,
                same,
                DatasetRating.completed_at >= now - window,
            )
        )
        return int(count or 0)

    burst = rules.respondent_burst
    if await others_since(DatasetRating.respondent_id == respondent_id, burst.window) >= (
        burst.max_responses
    ):
        return RESPONDENT_BURST
    burst = rules.network_burst
    if digest is not None and (
        await others_since(DatasetRating.address_digest == digest, burst.window)
        >= burst.max_responses
    ):
        return NETWORK_BURST
    return None


async def may_report(
    session: AsyncSession,
    *,
    dataset_id: int,
    respondent_id: int,
    now: datetime,
    digest: bytes | None,
) -> bool:
    """Whether a problem report may be filed from this network (or person) about this set."""
    source = (
        DatasetRating.address_digest == digest
        if digest is not None
        else DatasetRating.respondent_id == respondent_id
    )
    recent = (
        select(Complaint.dataset_id)
        .join(DatasetRating, DatasetRating.id == Complaint.dataset_rating_id)
        .where(source, Complaint.created_at >= now - REPORT_WINDOW)
    )
    filed = list(await session.scalars(recent))
    if len(filed) >= PROBLEM_REPORTS_PER_NETWORK:
        return False
    return filed.count(dataset_id) < PROBLEM_REPORTS_PER_SET
