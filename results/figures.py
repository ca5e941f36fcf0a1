"""The public figures of a place (the whole country, a region, an agency, a service, an office)
for a year, from the monthly rollups only: the cost grows with agencies × services × offices ×
months, never with responses.

A year's counters of the figures' metrics are read into memory once (`load_counts`, one query
per range of months) and every page of that year is summed from them (`place_figures`,
`place_rows`); the pages keep a closed year's counters until the rollups change, and read the
open month again at most every few minutes (results/pages.py).

Every figure goes through the disclosure rule: a share is given only when at least
`minimum_cell` answers stand behind it, a count only when it is at least that large; below it
the figure is None and the page says so. No answer text, no identifier of a person is read."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import MonthlyRollup
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
COLUMNS = ("month", "agency_id", "service_id", "office", "metric", "value_key", "count")


class Level(enum.StrEnum):
    NATIONAL = "national"
    REGION = "region"
    AGENCY = "agency"
    SERVICE = "service"
    OFFICE = "office"


@dataclass(frozen=True)
class Place:
    """Which counters a page sums: `key` is a region's code or a row id (none nationally)."""

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


# Reading the counters ------------------------------------------------------------------------


async def load_counts(session: AsyncSession, first: str, last: str) -> pd.DataFrame:
    """The figures' counters of the months `first`..`last` (YYYY-MM), summed per month ×
    agency × service × office × metric × value (COLUMNS; `office` 0: no office)."""
    rows = await session.execute(
        select(
            MonthlyRollup.month,
            MonthlyRollup.agency_id,
            MonthlyRollup.service_id,
            MonthlyRollup.service_point_key,
            MonthlyRollup.metric,
            MonthlyRollup.value_key,
            MonthlyRollup.count,
        ).where(
            MonthlyRollup.metric.in_(METRICS),
            MonthlyRollup.month >= first,
            MonthlyRollup.month <= last,
        )
    )
    frame = pd.DataFrame(rows.all(), columns=list(COLUMNS))
    for column in ("agency_id", "service_id", "office", "count"):
        frame[column] = frame[column].astype("int64")
    return frame


def with_regions(
    counts: pd.DataFrame, office_regions: Mapping[int, str], agency_regions: Mapping[int, str]
) -> pd.DataFrame:
    """`counts` with a `region` column: the office's region, else the agency's ("" if none)."""
    office = counts["office"].map(office_regions)
    agency = counts["agency_id"].map(agency_regions)
    return counts.assign(region=office.fillna(agency).fillna("").astype("str"))


# Summing a place's figures ---------------------------------------------------------------------


def _inside(counts: pd.DataFrame, place: Place) -> pd.DataFrame:
    if place.level is Level.NATIONAL:
        return counts
    column = {
        Level.REGION: "region",
        Level.AGENCY: "agency_id",
        Level.SERVICE: "service_id",
        Level.OFFICE: "office",
    }[place.level]
    found: pd.DataFrame = counts.loc[counts[column].to_numpy() == place.key]
    return found


def _totals(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    summed = frame.groupby(["metric", "value_key"], sort=False)["count"].sum()
    return {
        (str(metric), str(value)): int(count)
        for (metric, value), count in zip(summed.index.tolist(), summed.tolist(), strict=True)
    }


def _pair(
    totals: Mapping[tuple[str, str], int], metric: str, hit: Iterable[str]
) -> tuple[int, int]:
    answered = {v: c for (m, v), c in totals.items() if m == metric}
    if metric == SATISFACTION:
        return sum(answered.get(v, 0) for v in hit), sum(answered.values())
    return sum(answered.get(v, 0) for v in hit), answered.get("yes", 0) + answered.get("no", 0)


def place_figures(counts: pd.DataFrame, place: Place) -> Figures:
    """The figures of one place over the counters' months, and per month."""
    mine = _inside(counts, place)
    totals = _totals(mine)
    pairs = [_pair(totals, SATISFACTION, SATISFIED_VALUES)]
    pairs += [_pair(totals, metric, (bad,)) for _name, metric, bad in DEFECTS]
    found = shares(pairs)
    responses = sum(c for (m, _v), c in totals.items() if m == RESPONSES_METRIC)
    satisfaction = mine.loc[mine["metric"].to_numpy() == SATISFACTION]
    by_month = (
        satisfaction.assign(
            hit=np.where(satisfaction["value_key"].isin(SATISFIED_VALUES), satisfaction["count"], 0)
        )
        .groupby("month")[["hit", "count"]]
        .sum()
    )
    monthly = shares(zip(by_month["hit"].tolist(), by_month["count"].tolist(), strict=True))
    return Figures(
        found[0],
        shown_count(responses),
        tuple((name, share) for (name, _m, _b), share in zip(DEFECTS, found[1:], strict=True)),
        tuple(
            MonthFigure(str(month), share)
            for month, share in zip(by_month.index.tolist(), monthly, strict=True)
        ),
    )


def place_rows(counts: pd.DataFrame, place: Place, of: Level) -> list[Row]:
    """The places of level `of` inside `place` (the agencies of a region, the offices of an
    agency…) with their satisfied share; those with no response are left out."""
    column = {
        Level.REGION: "region",
        Level.AGENCY: "agency_id",
        Level.SERVICE: "service_id",
        Level.OFFICE: "office",
    }[of]
    mine = _inside(counts, place)
    if of is Level.OFFICE:
        mine = mine.loc[mine["office"].to_numpy() != 0]
    if of is Level.REGION:
        mine = mine.loc[mine["region"].to_numpy() != ""]
    metric = mine["metric"].to_numpy()
    satisfaction = mine.loc[metric == SATISFACTION]
    summed = (
        satisfaction.assign(
            hit=np.where(satisfaction["value_key"].isin(SATISFIED_VALUES), satisfaction["count"], 0)
        )
        .groupby(column)[["hit", "count"]]
        .sum()
    )
    responses = mine.loc[metric == RESPONSES_METRIC].groupby(column)["count"].sum()
    keys = sorted(set(summed.index.tolist()) | set(responses.index.tolist()), key=str)
    found = shares((int(summed["hit"].get(k, 0)), int(summed["count"].get(k, 0))) for k in keys)
    return [
        Row(key, share, shown_count(int(responses.get(key, 0))))
        for key, share in zip(keys, found, strict=True)
    ]


async def years_with_data(session: AsyncSession) -> list[int]:
    """The years with any response counted, newest first."""
    from sqlalchemy import func

    months = await session.scalars(
        select(func.substr(MonthlyRollup.month, 1, 4))
        .where(MonthlyRollup.metric == RESPONSES_METRIC)
        .distinct()
    )
    return sorted((int(year) for year in months if year and year.isdigit()), reverse=True)
