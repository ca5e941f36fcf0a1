"""Reporting periods as written in indicator files and on the command line: a year ("2025"),
a quarter ("2025-Q1") or a month ("2025-03"). Days are Kazakhstan's reporting days (core.clock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


class PeriodError(ValueError):
    """Text that is not a period; the message says what a period looks like."""


@dataclass(frozen=True)
class Period:
    """A period's name and its days, `first` included, `end` excluded."""

    name: str
    first: date
    end: date

    def contains(self, day: date) -> bool:
        return self.first <= day < self.end


def parse_period(text: str) -> Period:
    """Parse "2025", "2025-Q1" or "2025-03" (surrounding spaces ignored)."""
    match = _PERIOD.match(text.strip())
    if match is None or not 1900 <= int(match["year"]) <= 2999:
        raise PeriodError(
            f"{text.strip()!r} is not a period: write a year (2025), "
            "a quarter (2025-Q1) or a month (2025-03)"
        )
    year = int(match["year"])
    if match["quarter"]:
        start_month, months = 3 * int(match["quarter"]) - 2, 3
    elif match["month"]:
        start_month, months = int(match["month"]), 1
    else:
        start_month, months = 1, 12
    first = date(year, start_month, 1)
    after = start_month - 1 + months
    end = date(year + after // 12, after % 12 + 1, 1)
    return Period(match.group(0), first, end)
