"""An agency's complaint summary for one period, built from the database: the one function the
admin page, the reports and the scheduled delivery all use.

    period = SummaryPeriod.last_closed("weekly", now)       # or SummaryPeriod.containing(...)
    summary = await agency_summary(session, agency, period, now)
    text = render_summary(summary, agency_language(agency))

Periods are days of the Kazakhstan calendar (UTC+5): a week runs Monday to Monday, a month
from its first day to the next month's. The previous period gives the change in volume; the
periods before the current one, as many as the rules' baseline and persistence need, give the
baseline of the over-representation test (scoring/complaint_summary.py says how)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import REPORTING_TZ, reporting_day
from core.complaints import complaints_frame
from core.dataset_ratings import problems_frame
from core.models import Agency, PublicService, ServicePoint
from core.working_days import HolidayCalendar, kazakhstan_calendar
from scoring.complaint_summary import (
    ComplaintSummary,
    SummaryRules,
    load_summary_rules,
    summarise,
)

PeriodKind = Literal["weekly", "monthly"]
PERIOD_KINDS: Final[tuple[PeriodKind, ...]] = get_args(PeriodKind)
SummaryLanguage = Literal["kk", "ru"]
Language = Literal["kk", "ru", "en"]


@dataclass(frozen=True, order=True)
class SummaryPeriod:
    """The days ``[start, end)`` of one week (Monday to Monday) or calendar month."""

    kind: PeriodKind
    start: date
    end: date

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> SummaryPeriod:
        """The week or month ``day`` falls in."""
        if kind == "weekly":
            start = day - timedelta(days=day.weekday())
            return cls(kind, start, start + timedelta(days=7))
        if kind == "monthly":
            start = day.replace(day=1)
            return cls(kind, start, _next_month(start))
        raise ValueError(f"a summary period is weekly or monthly, not {kind!r}")

    @classmethod
    def last_closed(cls, kind: PeriodKind, now: datetime) -> SummaryPeriod:
        """The latest period that has ended by ``now`` (Kazakhstan calendar)."""
        return cls.containing(kind, reporting_day(now)).previous()

    def previous(self) -> SummaryPeriod:
        return SummaryPeriod.containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> SummaryPeriod:
        return SummaryPeriod.containing(self.kind, self.end)

    def earlier(self, count: int) -> list[SummaryPeriod]:
        """The ``count`` periods before this one, oldest first."""
        periods: list[SummaryPeriod] = []
        period = self
        for _ in range(count):
            period = period.previous()
            periods.append(period)
        return periods[::-1]

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        """The period's start, ISO: sortable, the history's ``period`` label."""
        return self.start.isoformat()

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as moments: Kazakhstan midnight of its first day and of its end."""
        return _midnight(self.start), _midnight(self.end)

    def has_ended(self, now: datetime) -> bool:
        return reporting_day(now) >= self.end


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=REPORTING_TZ)


def agency_language(agency: Agency) -> SummaryLanguage:
    """The language an agency's summaries are written in: its own, kk or ru (ru otherwise)."""
    return "kk" if agency.language == "kk" else "ru"


def history_periods(rules: SummaryRules) -> int:
    """How many periods before the current one the summary reads: the baseline of the current
    period, and of each earlier one whose flag counts towards persistence."""
    over = rules.over_representation
    # at least the previous period, for the change in volume
    return max(1, over.baseline_periods + over.persistence_periods - 1)


@dataclass(frozen=True)
class WorkingDaysLeft:
    """Working days after today (Kazakhstan) up to each deadline day, as the deadline job counts
    them; the deadlines come as the moment their last day ends."""

    calendar: HolidayCalendar

    def __call__(self, now: pd.Timestamp, deadlines: pd.Series) -> pd.Series:
        known = deadlines.notna()
        result = pd.Series(np.nan, index=deadlines.index, dtype="float64")
        if known.any():
            # the end of the deadline day is midnight of the next: that next day, exclusive
            ends = (deadlines[known].dt.tz_convert(REPORTING_TZ).dt.tz_localize(None)).to_numpy(
                dtype="datetime64[D]"
            )
            today = np.datetime64(reporting_day(now.to_pydatetime()), "D")
            holidays = np.array(sorted(self.calendar.days_off), dtype="datetime64[D]")
            until = np.maximum(ends, today + 1)
            counted = np.busday_count(today + 1, until, holidays=holidays)
            # weekend days a decree made working count too (busday_count knows only weekdays)
            worked = np.array(sorted(self.calendar.working_weekend_days), dtype="datetime64[D]")
            counted += np.searchsorted(worked, until) - np.searchsorted(worked, today + 1)
            result[known] = counted.astype("float64")
        return result


def deadline_moments(deadlines: pd.Series) -> pd.Series:
    """Deadline days as the moment the day ends in Kazakhstan: answered before it is on time,
    open after it is overdue (the deadline job's rule: the deadline day itself is not late)."""
    days = pd.to_datetime(deadlines, errors="coerce")
    return (days + pd.Timedelta(days=1)).dt.tz_localize(REPORTING_TZ).dt.tz_convert("UTC")


async def _names(
    session: AsyncSession, agency: Agency, lang: Language
) -> tuple[dict[str, str], dict[str, str]]:
    """The agency's service and office names by code; a name two codes share keeps its code."""

    async def named(model: type[PublicService] | type[ServicePoint]) -> dict[str, str]:
        rows = await session.execute(
            select(model.code, getattr(model, f"name_{lang}"), model.name_ru).where(
                model.agency_id == agency.id
            )
        )
        names = {str(code): str(name or fallback) for code, name, fallback in rows}
        shared = pd.Series(names).duplicated(keep=False) if names else pd.Series(dtype=bool)
        return {
            code: f"{name} ({code})" if bool(shared.get(code, False)) else name
            for code, name in names.items()
        }

    return await named(PublicService), await named(ServicePoint)


def _prepared(
    frame: pd.DataFrame, services: Mapping[str, str], offices: Mapping[str, str]
) -> pd.DataFrame:
    frame = frame.copy()
    frame["deadline"] = deadline_moments(frame["deadline"])
    # a service or office of another agency (moved since) keeps its code
    frame["service"] = frame["service"].map(services).fillna(frame["service"])
    frame["office"] = frame["office"].map(offices).fillna(frame["office"])
    return frame


async def agency_summary(
    session: AsyncSession,
    agency: Agency,
    period: SummaryPeriod,
    now: datetime,
    *,
    lang: Language | None = None,
    rules: SummaryRules | None = None,
    calendar: HolidayCalendar | None = None,
) -> ComplaintSummary:
    """The summary of ``agency``'s complaints received in ``period``, judged at ``now``.

    Reads the period and the periods before it in one query; deadlines count working days
    of the holiday calendar (core/holidays_kz.yaml by default). Agency, service and office
    are named in ``lang`` (default: the agency's language, :func:`agency_language`), so the
    summary renders as it is; the rules default to scoring/summary_rules.yaml.
    """
    rules = rules or load_summary_rules()
    calendar = calendar or kazakhstan_calendar()
    lang = lang or agency_language(agency)
    earlier = period.earlier(history_periods(rules))
    first = earlier[0] if earlier else period
    start, _ = first.bounds()
    _, end = period.bounds()
    services, offices = await _names(session, agency, lang)
    frame = _prepared(await complaints_frame(session, agency.id, start, end), services, offices)
    received = frame["received_at"].dt.tz_convert(REPORTING_TZ).dt.tz_localize(None)
    period_start = pd.Timestamp(period.start)
    current = frame[received >= period_start]
    past = frame[received < period_start].copy()
    # each earlier complaint labelled with its period's start (a week's Monday, a month's 1st)
    starts = np.array([pd.Timestamp(p.start) for p in earlier], dtype="datetime64[ns]")
    labels = np.array([p.label for p in earlier], dtype=object)
    if len(starts):
        position = np.searchsorted(starts, received[received < period_start].to_numpy(), "right")
        past["period"] = labels[position - 1]
    else:
        past["period"] = pd.Series(dtype=object)
    previous_label = period.previous().label
    previous = past[past["period"] == previous_label]
    # problem reports about the agency's open data sets: this period's, under their own heading
    current_start, _ = period.bounds()
    problems = await problems_frame(session, agency.id, current_start, end, lang)
    problems["deadline"] = deadline_moments(problems["deadline"])
    return summarise(
        current.reset_index(drop=True),
        period_start=period.start,
        period_end=period.end,
        previous=previous.reset_index(drop=True),
        history=past.reset_index(drop=True),
        now=now,
        config=rules,
        agency=agency.name(lang),
        working_days=WorkingDaysLeft(calendar),
        problems=problems,
    )
