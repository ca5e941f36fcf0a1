"""Time, in one place: UTC for storage, Kazakhstan's single time zone (UTC+5) for reporting days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

REPORTING_TZ = timezone(timedelta(hours=5), "Asia/Almaty")


def utcnow() -> datetime:
    return datetime.now(UTC)


def reporting_day(moment: datetime) -> date:
    """The calendar day in Kazakhstan on which `moment` falls (rollups are per such day)."""
    return moment.astimezone(REPORTING_TZ).date()
