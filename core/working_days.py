"""Working days in Kazakhstan: weekends and public holidays (core/holidays_kz.yaml) are off.
Complaint deadlines are counted in these days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HOLIDAYS_FILE = Path(__file__).with_name("holidays_kz.yaml")
SATURDAY = 5


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off other than weekends, for the years the calendar file covers."""

    days_off: frozenset[date]

    def is_working_day(self, day: date) -> bool:
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


def calendar_from(data: dict[str, Any], years: range) -> HolidayCalendar:
    """The calendar for `years` from the file's contents (see core/holidays_kz.yaml)."""
    off: set[date] = set()
    transferable: list[date] = []
    for year in years:
        for entry in data.get("fixed", []):
            month, day_of_month = (int(part) for part in str(entry["day"]).split("-"))
            holiday = date(year, month, day_of_month)
            off.add(holiday)
            if entry.get("transferable", False):
                transferable.append(holiday)
    for year, days in (data.get("by_year") or {}).items():
        if int(year) in years:
            off.update(date.fromisoformat(str(day)) for day in days)
    # A transferable holiday on a weekend moves to the next day that is neither a weekend nor
    # already off (two on one weekend move to Monday and Tuesday).
    for holiday in sorted(transferable):
        if holiday.weekday() >= SATURDAY:
            day = holiday + timedelta(days=1)
            while day.weekday() >= SATURDAY or day in off:
                day += timedelta(days=1)
            off.add(day)
    return HolidayCalendar(frozenset(off))


@cache
def kazakhstan_calendar(path: Path = HOLIDAYS_FILE) -> HolidayCalendar:
    with path.open(encoding="utf-8") as stream:
        data = yaml.safe_load(stream)
    return calendar_from(data, range(2024, 2036))
