"""The figures of the admin pages, read from daily rollups only (never raw responses), each
query narrowed by `scope` to what the reader may see.

Satisfaction share: answers 4 or 5 to the `satisfaction` question among all its answers, with
n and a Wilson 95 % interval; below the minimum sample the share is withheld."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Select, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from admin.tallies import TallyMemory, agency_tallies
from core.funnel import STEPS, FunnelStep
from core.models import Agency, AgencyKind, DailyRollup, FunnelDaily, PublicService, ServicePoint
from core.rollups import (
    DEFECTS,
    FIGURE_METRICS,
    RESPONSES_METRIC,
    SATISFACTION_METRIC,
    SATISFIED_VALUES,
)
from scoring.compute import DEFAULT_MIN_SAMPLE
from scoring.evidence import wilson_interval

K = TypeVar("K")
MIN_SAMPLE = DEFAULT_MIN_SAMPLE


@dataclass(frozen=True)
class Share:
    """`hits` of `n`; share and interval are None when n is below the minimum sample."""

    hits: int
    n: int
    share: float | None
    interval: tuple[float, float] | None

    @property
    def insufficient(self) -> bool:
        return self.n > 0 and self.share is None


def shares(hits: Sequence[int], totals: Sequence[int], min_sample: int = MIN_SAMPLE) -> list[Share]:
    """Shares with Wilson 95 % intervals, vectorised over many rows."""
    if not hits:
        return []
    return list(_shares(tuple(hits), tuple(totals), min_sample))


@functools.lru_cache(maxsize=1024)
def _shares(hits: tuple[int, ...], totals: tuple[int, ...], min_sample: int) -> tuple[Share, ...]:
    # A pure function of its arguments, remembered: a page asks for the same counts again until
    # they change, and the vectorised interval has a fixed cost of a few milliseconds a call.
    successes, n = pd.Series(list(hits), dtype="float64"), pd.Series(list(totals), dtype="float64")
    low, high = wilson_interval(successes, n)
    found = []
    for h, t, lo, hi in zip(hits, totals, low.tolist(), high.tolist(), strict=True):
        enough = t >= min_sample and t > 0
        found.append(
            Share(h, t, h / t if enough else None, (float(lo), float(hi)) if enough else None)
        )
    return tuple(found)


def _since(statement, since: date | None):  # type: ignore[no-untyped-def]
    return statement.where(DailyRollup.day >= since.isoformat()) if since else statement


async def responses_per_day(
    db: AsyncSession, reader: Reader, since: date | None
) -> list[tuple[str, int]]:
    statement = (
        select(DailyRollup.day, func.sum(DailyRollup.count))
        .where(DailyRollup.metric == RESPONSES_METRIC)
        .group_by(DailyRollup.day)
        .order_by(DailyRollup.day)
    )
    statement = scope(_since(statement, since), reader, DailyRollup.agency_id)
    return [(day, int(count)) for day, count in (await db.execute(statement)).tuples()]


async def responses_by_channel(
    db: AsyncSession, reader: Reader, since: date | None
) -> list[tuple[str, int]]:
    statement = (
        select(DailyRollup.value_key, func.sum(DailyRollup.count))
        .where(DailyRollup.metric == RESPONSES_METRIC)
        .group_by(DailyRollup.value_key)
    )
    statement = scope(_since(statement, since), reader, DailyRollup.agency_id)
    rows = [(channel, int(count)) for channel, count in (await db.execute(statement)).tuples()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


async def satisfaction_by_month(
    db: AsyncSession,
    reader: Reader,
    since: date | None,
    agency_id: int | None = None,
    service_id: int | None = None,
    office_id: int | None = None,
) -> list[tuple[str, Share]]:
    month = func.substr(DailyRollup.day, 1, 7, type_=String)
    statement = (
        select(month, DailyRollup.value_key, func.sum(DailyRollup.count))
        .where(DailyRollup.metric == SATISFACTION_METRIC)
        .group_by(month, DailyRollup.value_key)
    )
    if agency_id is not None:
        statement = statement.where(DailyRollup.agency_id == agency_id)
    if service_id is not None:
        statement = statement.where(DailyRollup.service_id == service_id)
    if office_id is not None:
        statement = statement.where(DailyRollup.service_point_key == office_id)
    statement = scope(_since(statement, since), reader, DailyRollup.agency_id)
    counts = await _hits_and_totals(db, statement)
    months = sorted(counts)
    found = shares([counts[m][0] for m in months], [counts[m][1] for m in months])
    return list(zip(months, found, strict=True))


async def _hits_and_totals(
    db: AsyncSession, statement: Select[tuple[K, Any, Any]]
) -> dict[K, list[int]]:
    """(key, rating, count) rows -> key: [satisfied, all]."""
    counts: dict[K, list[int]] = defaultdict(lambda: [0, 0])
    for key, value, count in (await db.execute(statement)).tuples():
        counts[key][1] += int(count)
        if value in SATISFIED_VALUES:
            counts[key][0] += int(count)
    return counts


@dataclass(frozen=True)
class AgencySummary:
    agency: Agency
    responses: int
    satisfaction: Share


async def agency_summaries(
    db: AsyncSession,
    reader: Reader,
    since: date | None,
    kind: AgencyKind | None = None,
    region: str | None = None,
) -> list[AgencySummary]:
    agencies_query = select(Agency).order_by(Agency.code)
    if kind is not None:
        agencies_query = agencies_query.where(Agency.kind == kind)
    if region:
        agencies_query = agencies_query.where(Agency.region == region)
    agencies = list(await db.scalars(scope(agencies_query, reader, Agency.id)))
    responses_query = (
        select(DailyRollup.agency_id, func.sum(DailyRollup.count))
        .where(DailyRollup.metric == RESPONSES_METRIC)
        .group_by(DailyRollup.agency_id)
    )
    responses_query = scope(_since(responses_query, since), reader, DailyRollup.agency_id)
    responses = {a: int(c) for a, c in (await db.execute(responses_query)).tuples()}
    rating_query = (
        select(DailyRollup.agency_id, DailyRollup.value_key, func.sum(DailyRollup.count))
        .where(DailyRollup.metric == SATISFACTION_METRIC)
        .group_by(DailyRollup.agency_id, DailyRollup.value_key)
    )
    counts = await _hits_and_totals(
        db, scope(_since(rating_query, since), reader, DailyRollup.agency_id)
    )
    found = shares(
        [counts.get(a.id, [0, 0])[0] for a in agencies],
        [counts.get(a.id, [0, 0])[1] for a in agencies],
    )
    return [
        AgencySummary(agency, responses.get(agency.id, 0), share)
        for agency, share in zip(agencies, found, strict=True)
    ]


async def regions(db: AsyncSession, reader: Reader) -> list[str]:
    statement = select(Agency.region).where(Agency.region.is_not(None)).distinct()
    return sorted(str(r) for r in await db.scalars(scope(statement, reader, Agency.id)))


async def visible_agency(db: AsyncSession, reader: Reader, code: str) -> Agency | None:
    """The agency with `code`, if `reader` may see it (None looks the same as unknown)."""
    statement = scope(select(Agency).where(Agency.code == code), reader, Agency.id)
    found: Agency | None = await db.scalar(statement)
    return found


async def visible_service(
    db: AsyncSession, reader: Reader, agency: Agency, code: str
) -> PublicService | None:
    statement = select(PublicService).where(
        PublicService.code == code, PublicService.agency_id == agency.id
    )
    found: PublicService | None = await db.scalar(scope(statement, reader, PublicService.agency_id))
    return found


async def visible_office(
    db: AsyncSession, reader: Reader, agency: Agency, code: str
) -> ServicePoint | None:
    statement = select(ServicePoint).where(
        ServicePoint.code == code, ServicePoint.agency_id == agency.id
    )
    found: ServicePoint | None = await db.scalar(scope(statement, reader, ServicePoint.agency_id))
    return found


@dataclass(frozen=True)
class Breakdown:
    """One service or office of an agency, by satisfaction."""

    code: str
    name: str
    satisfaction: Share


@dataclass
class AgencyFigures:
    responses: int
    satisfaction: Share
    defects: list[tuple[str, Share]]
    services: list[Breakdown] = field(default_factory=list)
    offices: list[Breakdown] = field(default_factory=list)
    trend: list[tuple[str, Share]] = field(default_factory=list)


async def agency_figures(
    db: AsyncSession,
    reader: Reader,
    agency: Agency,
    since: date | None,
    lang: str,
    service: PublicService | None = None,
    no_office: str = "—",
    until: date | None = None,
    office: ServicePoint | None = None,
    memory: TallyMemory | None = None,
) -> AgencyFigures:
    """`until`: the first day not counted (a report card covers its scoring period only).
    The counts come from one grouped read of the agency's rollups (`admin.tallies`, older days
    remembered in `memory`); the service or office narrows them here."""
    tallies = [
        t
        for t in await agency_tallies(db, reader, agency.id, FIGURE_METRICS, since, until, memory)
        if (service is None or t.service_id == service.id)
        and (office is None or t.office_key == office.id)
    ]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_service: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    by_office: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    by_month: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for t in tallies:
        counts[t.metric][t.value] += t.count
        if t.metric == SATISFACTION_METRIC:
            hit = t.count if t.value in SATISFIED_VALUES else 0
            for table, key in ((by_service, t.service_id), (by_office, t.office_key)):
                table[key][0] += hit
                table[key][1] += t.count
            by_month[t.month][0] += hit
            by_month[t.month][1] += t.count
    ratings = counts[SATISFACTION_METRIC]
    satisfied = sum(ratings.get(v, 0) for v in SATISFIED_VALUES)
    defect_hits = [counts[m].get(bad, 0) for _n, m, bad in DEFECTS]
    defect_totals = [counts[m].get("yes", 0) + counts[m].get("no", 0) for _n, m, _b in DEFECTS]

    services_query = select(PublicService).where(PublicService.agency_id == agency.id)
    if service is not None:
        services_query = services_query.where(PublicService.id == service.id)
    services = list(await db.scalars(scope(services_query, reader, PublicService.agency_id)))
    offices = {
        o.id: o
        for o in await db.scalars(
            scope(
                select(ServicePoint).where(ServicePoint.agency_id == agency.id),
                reader,
                ServicePoint.agency_id,
            )
        )
    }
    service_items = [(s.code, s.name(lang), by_service.get(s.id, [0, 0])) for s in services]
    office_items = [
        (offices[key].code, offices[key].name(lang), value)
        if key in offices
        else ("", no_office, value)
        for key, value in by_office.items()
        if key == 0 or key in offices
    ]
    months = sorted(by_month, key=str)
    # every share of the page in one vectorised call (each call has a fixed cost)
    pairs = [
        (satisfied, sum(ratings.values())),
        *zip(defect_hits, defect_totals, strict=True),
        *((v[0], v[1]) for _c, _n, v in service_items),
        *((v[0], v[1]) for _c, _n, v in office_items),
        *((by_month[m][0], by_month[m][1]) for m in months),
    ]
    found = iter(shares([h for h, _t in pairs], [t for _h, t in pairs]))
    overall = next(found)
    defect_shares = [next(found) for _ in DEFECTS]
    service_shares = [next(found) for _ in service_items]
    office_shares = [next(found) for _ in office_items]
    return AgencyFigures(
        responses=sum(counts[RESPONSES_METRIC].values()),
        satisfaction=overall,
        defects=[
            (name, share) for (name, _m, _b), share in zip(DEFECTS, defect_shares, strict=True)
        ],
        services=_ranked(service_items, service_shares),
        offices=_ranked(office_items, office_shares),
        trend=[(str(month), next(found)) for month in months],
    )


def _ranked(items: list[tuple[str, str, list[int]]], found: list[Share]) -> list[Breakdown]:
    """By satisfaction share, best first; withheld shares (small samples) last, by n."""
    rows = [
        Breakdown(code, name, share) for (code, name, _v), share in zip(items, found, strict=True)
    ]
    return sorted(
        rows,
        key=lambda b: (
            b.satisfaction.share is None,
            -(b.satisfaction.share or 0),
            -b.satisfaction.n,
            b.name,
        ),
    )


@dataclass(frozen=True)
class FunnelStage:
    """One step of the invitation funnel: how many services reached it, as a share of the
    services served and of the step before (None when there is nothing to divide by)."""

    step: FunnelStep
    count: int
    of_served: float | None
    of_previous: float | None


@dataclass(frozen=True)
class Funnel:
    """The steps, and beside them the surveys started and never finished before their
    invitation expired (closed as abandoned by the worker)."""

    stages: list[FunnelStage]
    abandoned: int = 0

    def count(self, step: FunnelStep) -> int:
        return next(stage.count for stage in self.stages if stage.step is step)

    @property
    def response_rate(self) -> float | None:
        """Completed surveys per invitation sent: the rate the evaluation would quote."""
        invited = self.count(FunnelStep.INVITED)
        return self.count(FunnelStep.COMPLETED) / invited if invited else None

    @property
    def abandoned_of_started(self) -> float | None:
        started = self.count(FunnelStep.STARTED)
        return self.abandoned / started if started else None

    @property
    def empty(self) -> bool:
        return not any(stage.count for stage in self.stages) and not self.abandoned


async def funnel(
    db: AsyncSession,
    reader: Reader,
    since: date | None,
    agency_id: int | None = None,
    service_id: int | None = None,
    office_id: int | None = None,
) -> Funnel:
    """served -> invited -> delivered -> started -> completed from `funnel_daily` (the day a
    service was delivered, so a rate never passes 100 % because a survey ended after midnight)."""
    statement = select(
        *(func.coalesce(func.sum(getattr(FunnelDaily, s.value)), 0) for s in STEPS),
        func.coalesce(func.sum(FunnelDaily.abandoned), 0),
    )
    if since is not None:
        statement = statement.where(FunnelDaily.day >= since.isoformat())
    if agency_id is not None:
        statement = statement.where(FunnelDaily.agency_id == agency_id)
    if service_id is not None:
        statement = statement.where(FunnelDaily.service_id == service_id)
    if office_id is not None:
        statement = statement.where(FunnelDaily.service_point_key == office_id)
    *counts, abandoned = (await db.execute(scope(statement, reader, FunnelDaily.agency_id))).one()
    return funnel_of([int(value) for value in counts], int(abandoned))


def funnel_of(counts: Sequence[int], abandoned: int = 0) -> Funnel:
    """The funnel of one count per step (in STEPS order), with its rates, and the surveys
    abandoned."""
    served = counts[0]
    stages = []
    for index, (step, count) in enumerate(zip(STEPS, counts, strict=True)):
        previous = counts[index - 1] if index else None
        stages.append(
            FunnelStage(
                step,
                count,
                count / served if served else None,
                count / previous if previous else None,
            )
        )
    return Funnel(stages, abandoned)
