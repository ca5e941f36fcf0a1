"""The period a page covers: the last 30, 90 or 365 reporting days, or everything."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from admin.web.keys import config_of
from core.clock import reporting_day

PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "90"


def period_of(request: web.Request) -> tuple[str, date | None]:
    """The chosen period's key and its first day (None: no limit). Unknown values: the default."""
    key = request.query.get("days", DEFAULT_PERIOD)
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    days = PERIODS[key]
    if days is None:
        return key, None
    today = reporting_day(config_of(request).clock())
    return key, today - timedelta(days=days - 1)
