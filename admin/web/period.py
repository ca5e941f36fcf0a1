"""The period a page covers: the last 30, 90 or 365 reporting days, or everything. Without a
choice in the address, the shortest of 90 days, 365 days and everything that reaches the
latest day with data: a new reader never opens on a page of zeros."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from admin import coverage
from admin.scope import Reader
from admin.web.keys import config_of
from core.clock import reporting_day

PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "90"
FALLBACKS = ("90", "365", "all")  # tried in order when nothing is chosen


def period_of(request: web.Request, latest: date | None = None) -> tuple[str, date | None]:
    """The chosen period's key and its first day (None: no limit). Nothing or an unknown value
    chosen: the first of FALLBACKS that reaches `latest` (the latest day with data)."""
    today = reporting_day(config_of(request).clock())
    key = request.query.get("days", "")
    if key not in PERIODS:
        key = _fitting(today, latest)
    return key, _first_day(key, today)


def _first_day(key: str, today: date) -> date | None:
    days = PERIODS[key]
    return None if days is None else today - timedelta(days=days - 1)


def _fitting(today: date, latest: date | None) -> str:
    for key in FALLBACKS:
        first = _first_day(key, today)
        if latest is None or first is None or latest >= first:
            return key
    return "all"


async def period_with_data(request: web.Request, reader: Reader) -> tuple[str, date | None]:
    """`period_of`, its default fitted to the latest day with data the reader may see."""
    if request.query.get("days", "") in PERIODS:
        return period_of(request)
    async with config_of(request).session_factory() as db:
        latest = await coverage.latest_day(db, reader)
    return period_of(request, latest)
