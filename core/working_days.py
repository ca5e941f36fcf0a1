"""Working days in Kazakhstan: weekends and public holidays are off, as are the days a decree
moves a day off to, and a weekend day a decree makes working is worked. Complaint deadlines are
counted in these days.

The holidays come from the `holidays` package (Kazakhstan), with core/holidays_kz.yaml over
them: the decreed transfers and each year's Kurban ait as announced."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import holidays
import yaml

log = logging.getLogger(__name__)

HOLIDAYS_FILE = Path(__file__).with_name("holidays_kz.yaml")
SATURDAY = 5
YEARS = range(2024, 2036)
KURBAN_AIT = "Eid al-Adha"  # the package's English name for it


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off other than weekends, and weekend days decreed working, for the years covered."""

    days_off: frozenset[date]
    working_weekend_days: frozenset[date] = frozenset()
    # Years whose Kurban ait is the package's estimate, not a date the government announced.
    estimated_feasts: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekend_days:
            return True
        return day.weekday() < SATURDAY and day not in self.days_off

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself does not count; 0: the
        first working day on or after it)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        if count == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        left = count
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def unconfirmed_feasts(self, years: Iterable[int]) -> list[int]:
        """Those of `years` whose Kurban ait is only estimated."""
        return [year for year in years if year in self.estimated_feasts]


def _days(section: Any, years: range) -> set[date]:
    days: set[date] = set()
    for year, listed in (section or {}).items():
        if int(year) in years:
            days.update(date.fromisoformat(str(day)) for day in listed or [])
    return days


def calendar_from(overrides: dict[str, Any], years: range = YEARS) -> HolidayCalendar:
    """The calendar for `years`: the package's Kazakh holidays with `overrides` (the contents
    of core/holidays_kz.yaml) over them."""
    known = holidays.country_holidays("KZ", years=list(years), language="en_US")
    off: set[date] = set()
    estimated: set[int] = set()
    pinned = {
        int(y): date.fromisoformat(str(d)) for y, d in (overrides.get("kurban_ait") or {}).items()
    }
    for day, names in known.items():
        parts = [name.strip() for name in str(names).split(";")]
        feast = [name for name in parts if name.startswith(KURBAN_AIT)]
        if feast and len(feast) == len(parts) and day.year in pinned:
            continue  # replaced by the announced day below
        if any("estimated" in name for name in feast):
            estimated.add(day.year)
        off.add(day)
    for year, day in pinned.items():
        if year in years:
            off.add(day)
            estimated.discard(year)
    off |= _days(overrides.get("days_off"), years)
    off -= _days(overrides.get("not_off"), years)
    working = _days(overrides.get("working_days"), years)
    working |= {day for day in known.weekend_workdays if day.year in years}
    return HolidayCalendar(frozenset(off - working), frozenset(working), frozenset(estimated))


@cache
def kazakhstan_calendar(path: Path = HOLIDAYS_FILE) -> HolidayCalendar:
    with path.open(encoding="utf-8") as stream:
        data = yaml.safe_load(stream) or {}
    return calendar_from(data, YEARS)


def warn_about_estimated_feasts(today: date, calendar: HolidayCalendar | None = None) -> list[int]:
    """At start-up: log a warning for this year and the next when Kurban ait is only estimated
    (complaint deadlines around it may be a day off). Returns those years."""
    calendar = calendar or kazakhstan_calendar()
    years = calendar.unconfirmed_feasts([today.year, today.year + 1])
    for year in years:
        log.warning(
            "Kurban ait %d is an estimate: add the announced day under kurban_ait in "
            "core/holidays_kz.yaml (complaint deadlines count it as a day off)",
            year,
        )
    return years
