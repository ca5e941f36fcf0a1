"""The public figures of a place (the whole country, a region, an agency, a service, an office)
for a year, summed from the monthly rollups only: the cost of a page grows with agencies ×
services × offices × months, never with responses.

Every figure goes through the disclosure rule: a share is given only when at least
`minimum_cell` answers stand behind it, a count only when it is at least that large; below it
the figure is None and the page says so. No answer text, no identifier of a person is read."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Agency, MonthlyRollup, ServicePoint
from core.rollups import RESPONSES_METRIC
from results.disclosure import disclosure_rule
from scoring.evidence import wilson_interval

SATISFACTION = "satisfaction"
SATISFIED_VALUES = ("4", "5")
# A defect citizens report: (name, the metric of its question, the answer that reports it); the
# same metrics the admin's figures read.
DEFECTS = (
    ("deadline_missed", "deadline_met", "no"),
    ("unjustified_refusal", "unjustified_refusal", "yes"),
    ("extra_documents", "extra_documents_demanded", "yes"),
    ("package_not_accepted", "full_package_once", "no"),
)
METRICS = (SATISFACTION, RESPONSES_METRIC, *(metric for _name, metric, _bad in DEFECTS))


class Level(enum.StrEnum):
    NATIONAL = "national"
    REGION = "region"
    AGENCY = "agency"
    SERVICE = "service"
    OFFICE = "office"


@dataclass(frozen=True)
class Place:
    """Which rollup rows a page sums: `key` is a region's code or a row id (none nationally)."""

    level: Level
    key: str | int | None = None


@dataclass(frozen=True)
class Share:
    """A share of `n` answers with its Wilson 95 % interval; all None below the minimum cell
    (then `n` is None too: a small count is not shown either)."""

    share: float | None
    low: float | None
    high: float | None
    n: int | None

    @property
    def shown(self) -> bool:
        return self.share is not None


HIDDEN = Share(None, None, None, None)


@dataclass(frozen=True)
class MonthFigure:
    month: str  # YYYY-MM
    satisfied: Share


@dataclass(frozen=True)
class Figures:
    satisfied: Share
    responses: int | None  # None below the minimum cell
    defects: tuple[tuple[str, Share], ...]  # (name, share reporting it)
    months: tuple[MonthFigure, ...]


@dataclass(frozen=True)
class Row:
    """One place in a list (agencies of a region, offices of an agency): its satisfied share."""

    key: str | int
    satisfied: Share
    responses: int | None


def shares(pairs: Iterable[tuple[int, int]]) -> list[Share]:
    """(hits, n) pairs as shares; a pair with fewer than the minimum cell answers is hidden."""
    pairs = list(pairs)
    if not pairs:
        return []
    minimum = disclosure_rule().minimum_cell
    hits = pd.Series([h for h, _ in pairs], dtype="float64")
    totals = pd.Series([n for _, n in pairs], dtype="float64")
    low, high = wilson_interval(hits, totals)
    # the interval holds its share even where rounding at 0 % or 100 % would leave it out
    return [
        Share(h / n, min(float(lo), h / n), max(float(hi), h / n), n)
        if n >= minimum and n > 0
        else HIDDEN
        for (h, n), lo, hi in zip(pairs, low.tolist(), high.tolist(), strict=True)
    ]


def shown_count(count: int) -> int | None:
    return count if disclosure_rule().shows(count) else None


def _where(place: Place) -> list[ColumnElement[bool]]:
    rollup = MonthlyRollup
    if place.level is Level.AGENCY:
        return [rollup.agency_id == place.key]
    if place.level is Level.SERVICE:
        return [rollup.service_id == place.key]
    if place.level is Level.OFFICE:
        return [rollup.service_point_key == place.key]
    if place.level is Level.REGION:
        offices = select(ServicePoint.id).where(ServicePoint.region == place.key)
        agencies = select(Agency.id).where(Agency.region == place.key)
        return [
            or_(
                rollup.service_point_key.in_(offices.scalar_subquery()),
                and_(
                    rollup.service_point_key == 0, rollup.agency_id.in_(agencies.scalar_subquery())
                ),
            )
        ]
    return []


def _year(year: int) -> list[ColumnElement[bool]]:
    return [MonthlyRollup.month >= f"{year:04d}-01", MonthlyRollup.month <= f"{year:04d}-12"]


Counts = Mapping[str, Mapping[str, int]]  # metric -> value -> count


def _figures(counts: Counts) -> tuple[Share, int | None, tuple[tuple[str, Share], ...]]:
    satisfaction = counts.get(SATISFACTION, {})
    pairs = [(sum(satisfaction.get(v, 0) for v in SATISFIED_VALUES), sum(satisfaction.values()))]
    for _name, metric, bad in DEFECTS:
        answered = counts.get(metric, {})
        pairs.append((answered.get(bad, 0), answered.get("yes", 0) + answered.get("no", 0)))
    found = shares(pairs)
    responses = sum(counts.get(RESPONSES_METRIC, {}).values())
    defects = tuple((name, share) for (name, _m, _b), share in zip(DEFECTS, found[1:], strict=True))
    return found[0], shown_count(responses), defects


async def place_figures(session: AsyncSession, place: Place, year: int) -> Figures:
    """The year's figures of one place and its months."""
    statement = (
        select(
            MonthlyRollup.month,
            MonthlyRollup.metric,
            MonthlyRollup.value_key,
            func.sum(MonthlyRollup.count),
        )
        .where(MonthlyRollup.metric.in_(METRICS), *_year(year), *_where(place))
        .group_by(MonthlyRollup.month, MonthlyRollup.metric, MonthlyRollup.value_key)
    )
    by_month: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    total: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, metric, value, count in await session.execute(statement):
        by_month[month][metric][value] = int(count or 0)
        total[metric][value] += int(count or 0)
    satisfied, responses, defects = _figures(total)
    months = sorted(by_month)
    monthly = shares(
        (
            sum(by_month[m][SATISFACTION].get(v, 0) for v in SATISFIED_VALUES),
            sum(by_month[m][SATISFACTION].values()),
        )
        for m in months
    )
    return Figures(
        satisfied,
        responses,
        defects,
        tuple(MonthFigure(m, s) for m, s in zip(months, monthly, strict=True)),
    )


def _group_column(level: Level) -> Any:
    if level is Level.AGENCY:
        return MonthlyRollup.agency_id
    if level is Level.SERVICE:
        return MonthlyRollup.service_id
    if level is Level.OFFICE:
        return MonthlyRollup.service_point_key
    return func.coalesce(ServicePoint.region, Agency.region)


async def place_rows(session: AsyncSession, place: Place, year: int, of: Level) -> list[Row]:
    """The places of level `of` inside `place` (the agencies of a region, the offices of an
    agency…) with their satisfied share for the year; those with no response are left out."""
    group = _group_column(of)
    statement = (
        select(group, MonthlyRollup.metric, MonthlyRollup.value_key, func.sum(MonthlyRollup.count))
        .where(
            MonthlyRollup.metric.in_((SATISFACTION, RESPONSES_METRIC)),
            *_year(year),
            *_where(place),
        )
        .group_by(group, MonthlyRollup.metric, MonthlyRollup.value_key)
    )
    if of is Level.REGION:
        statement = statement.outerjoin(
            ServicePoint, ServicePoint.id == MonthlyRollup.service_point_key
        ).join(Agency, Agency.id == MonthlyRollup.agency_id)
    if of is Level.OFFICE:
        statement = statement.where(MonthlyRollup.service_point_key != 0)
    counts: dict[Any, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for key, metric, value, count in await session.execute(statement):
        if key is None:
            continue
        counts[key][metric][value] = int(count or 0)
    keys = sorted(counts, key=str)
    found = shares(
        (
            sum(counts[k][SATISFACTION].get(v, 0) for v in SATISFIED_VALUES),
            sum(counts[k][SATISFACTION].values()),
        )
        for k in keys
    )
    return [
        Row(key, share, shown_count(sum(counts[key][RESPONSES_METRIC].values())))
        for key, share in zip(keys, found, strict=True)
    ]


async def years_with_data(session: AsyncSession) -> list[int]:
    """The years with any response counted, newest first."""
    months = await session.scalars(
        select(func.substr(MonthlyRollup.month, 1, 4))
        .where(MonthlyRollup.metric == RESPONSES_METRIC)
        .distinct()
    )
    return sorted((int(year) for year in months if year and year.isdigit()), reverse=True)
