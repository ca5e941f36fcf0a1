"""The public figures of a place (the whole country, a region, an agency, a service, an office)
for a year, from the monthly rollups only: the cost grows with agencies × services × offices ×
months, never with responses.

A year's counters of the figures' metrics are read into memory (`load_counts`, one query per
range of months) and summed once per place and per listed pair of places (`YearSums`); a page
only looks its place up (`place_figures`, `place_rows`). The pages keep a closed year's sums
until the rollups change, and read the open months again at most every few minutes
(results/pages.py).

Every figure goes through the disclosure rule: a share is given only when at least
`minimum_cell` answers stand behind it, a count only when it is at least that large; below it
the figure is None and the page says so. No answer text, no identifier of a person is read."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import MonthlyRollup
from core.rollups import (
    DEFECTS,
    FIGURE_METRICS,
    RESPONSES_METRIC,
    SATISFACTION_METRIC,
    SATISFIED_VALUES,
)
from results.disclosure import disclosure_rule
from scoring.evidence import Z_95

COLUMNS = ("month", "agency_id", "service_id", "office", "metric", "value_key", "count")
# The monthly counters' columns in COLUMNS's order: what the figures and the open data read.
MONTHLY_CELL = (
    MonthlyRollup.month,
    MonthlyRollup.agency_id,
    MonthlyRollup.service_id,
    MonthlyRollup.service_point_key,
    MonthlyRollup.metric,
    MonthlyRollup.value_key,
    MonthlyRollup.count,
)


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
    minimum = disclosure_rule().minimum_cell
    found = []
    for hits, n in pairs:
        if n < minimum or n <= 0:
            found.append(HIDDEN)
            continue
        low, high = wilson(hits, n)
        # the interval holds its share even where rounding at 0 % or 100 % would leave it out
        found.append(Share(hits / n, min(low, hits / n), max(high, hits / n), n))
    return found


def shown_count(count: int) -> int | None:
    return count if disclosure_rule().shows(count) else None


# Reading the counters ------------------------------------------------------------------------


async def load_counts(session: AsyncSession, first: str, last: str) -> pd.DataFrame:
    """The figures' counters of the months `first`..`last` (YYYY-MM), summed per month ×
    agency × service × office × metric × value (COLUMNS; `office` 0: no office)."""
    rows = await session.execute(
        select(*MONTHLY_CELL).where(
            MonthlyRollup.metric.in_(FIGURE_METRICS),
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

_COLUMN = {
    Level.NATIONAL: "national",
    Level.REGION: "region",
    Level.AGENCY: "agency_id",
    Level.SERVICE: "service_id",
    Level.OFFICE: "office",
}
# the lists a page shows: (the page's level, the listed level)
PAIRS = (
    (Level.NATIONAL, Level.REGION),
    (Level.NATIONAL, Level.AGENCY),
    (Level.REGION, Level.AGENCY),
    (Level.REGION, Level.OFFICE),
    (Level.AGENCY, Level.SERVICE),
    (Level.AGENCY, Level.OFFICE),
    (Level.SERVICE, Level.OFFICE),
    (Level.OFFICE, Level.SERVICE),
)
Sums = dict[str, int]  # column (hit, n, responses, <defect>_hit, <defect>_n) -> count


def wilson(hits: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson 95 % interval of hits/n: scoring.evidence.wilson_interval's formula for one
    share (a test holds them equal), without a pandas call per figure."""
    p = hits / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    margin = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


class YearSums:
    """A year's counters summed once for every page: per place of each level (the figures and
    the months' satisfaction) and per pair of places a page lists (satisfaction and responses).
    Pages then only look their place up."""

    def __init__(self, counts: pd.DataFrame) -> None:
        metric = counts["metric"].to_numpy()
        value = counts["value_key"].to_numpy()
        count = counts["count"].to_numpy()
        satisfaction = metric == SATISFACTION_METRIC
        wide = {
            "hit": np.where(satisfaction & np.isin(value, SATISFIED_VALUES), count, 0),
            "n": np.where(satisfaction, count, 0),
            "responses": np.where(metric == RESPONSES_METRIC, count, 0),
        }
        for name, defect_metric, bad in DEFECTS:
            asked = metric == defect_metric
            wide[f"{name}_hit"] = np.where(asked & (value == bad), count, 0)
            wide[f"{name}_n"] = np.where(asked & np.isin(value, ("yes", "no")), count, 0)
        frame = counts.loc[:, ["month", "agency_id", "service_id", "office", "region"]].assign(
            national=0, **wide
        )
        columns = list(wide)
        self.places: dict[Level, dict[Any, Sums]] = {}
        self.months: dict[Level, dict[Any, list[tuple[str, int, int]]]] = {}
        for level, column in _COLUMN.items():
            summed = frame.groupby(column)[columns].sum()
            self.places[level] = {
                key: dict(zip(columns, (int(v) for v in row), strict=True))
                for key, row in zip(summed.index.tolist(), summed.to_numpy(), strict=True)
            }
            monthly = frame.groupby([column, "month"])[["hit", "n"]].sum()
            found: dict[Any, list[tuple[str, int, int]]] = {}
            for (key, month), (hit, n) in zip(
                monthly.index.tolist(), monthly.to_numpy().tolist(), strict=True
            ):
                found.setdefault(key, []).append((str(month), int(hit), int(n)))
            self.months[level] = found
        self.pairs: dict[tuple[Level, Level], dict[Any, list[tuple[Any, Sums]]]] = {}
        for outer, inner in PAIRS:
            names = [_COLUMN[outer], _COLUMN[inner]]
            summed = frame.groupby(names)[["hit", "n", "responses"]].sum()
            listed: dict[Any, list[tuple[Any, Sums]]] = {}
            for (key, member), (hit, n, responses) in zip(
                summed.index.tolist(), summed.to_numpy().tolist(), strict=True
            ):
                listed.setdefault(key, []).append(
                    (member, {"hit": int(hit), "n": int(n), "responses": int(responses)})
                )
            self.pairs[(outer, inner)] = listed


def _key(place: Place) -> Any:
    return 0 if place.level is Level.NATIONAL else place.key


def place_figures(sums: YearSums, place: Place) -> Figures:
    """The figures of one place over the year, and per month."""
    mine = sums.places[place.level].get(_key(place), {})
    pairs = [(mine.get("hit", 0), mine.get("n", 0))]
    pairs += [(mine.get(f"{name}_hit", 0), mine.get(f"{name}_n", 0)) for name, _m, _b in DEFECTS]
    found = shares(pairs)
    months = sums.months[place.level].get(_key(place), [])
    monthly = shares((hit, n) for _month, hit, n in months)
    return Figures(
        found[0],
        shown_count(mine.get("responses", 0)),
        tuple((name, share) for (name, _m, _b), share in zip(DEFECTS, found[1:], strict=True)),
        tuple(
            MonthFigure(month, share)
            for (month, _h, _n), share in zip(months, monthly, strict=True)
        ),
    )


def place_rows(sums: YearSums, place: Place, of: Level) -> list[Row]:
    """The places of level `of` inside `place` (the agencies of a region, the offices of an
    agency…) with their satisfied share; those with no response are left out, as are no
    office (eGov) and no region."""
    members = [
        (key, found)
        for key, found in sums.pairs[(place.level, of)].get(_key(place), [])
        if key not in (0, "")
    ]
    found_shares = shares((found["hit"], found["n"]) for _key, found in members)
    return [
        Row(key, share, shown_count(found["responses"]))
        for (key, found), share in zip(members, found_shares, strict=True)
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
