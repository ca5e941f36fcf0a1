"""What the national overview shows, read in one go: responses per day and by channel,
satisfaction by month, the invitation funnel, the flagged responses left out, and the grade
distribution of the latest stored score runs (never computed here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from admin import coverage, figures, standings
from admin.scope import Reader


@dataclass(frozen=True)
class Overview:
    per_day: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    months: list[tuple[str, figures.Share]]
    funnel: figures.Funnel
    excluded: coverage.Excluded
    score_period: str | None
    runs: dict[str, standings.RunInfo]
    grades: dict[str, list[standings.GradeCount]]

    @property
    def total(self) -> int:
        return sum(count for _day, count in self.per_day)

    @property
    def national(self) -> figures.Share:
        """The satisfied share of every rating in the period."""
        satisfied = sum(share.hits for _month, share in self.months)
        rated = sum(share.n for _month, share in self.months)
        [share] = figures.shares([satisfied], [rated])
        return share


async def national_overview(
    db: AsyncSession, reader: Reader, since: date | None, memory: standings.RunMemory
) -> Overview:
    stored = await standings.stored_runs(db, memory)
    score_period = stored.default_period
    latest = stored.latest(score_period) if score_period else {}
    runs = {name: run for name, run in latest.items() if run is not None}
    return Overview(
        per_day=await figures.responses_per_day(db, reader, since),
        channels=await figures.responses_by_channel(db, reader, since),
        months=await figures.satisfaction_by_month(db, reader, since),
        funnel=await figures.funnel(db, reader, since),
        excluded=await coverage.excluded(db, reader, since),
        score_period=score_period,
        runs=runs,
        grades={name: await standings.grade_distribution(db, run) for name, run in runs.items()},
    )
