"""What a period's package holds, read from the database: the closed months' counters (monthly
rollups, never responses), the published score runs with their inputs, the places named, and
the ledger's head for the period. Nothing here is public yet: `package.py` applies the rule."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import REPORTING_TZ
from core.models import (
    Agency,
    LedgerEntry,
    LedgerRechain,
    MonthlyRollup,
    PublicService,
    Response,
    ScoreRun,
    ServicePoint,
)
from core.periods import Period, parse_period
from core.rollups import first_open_day, rollup_revision
from core.score_runs import published_score_runs, run_inputs, score_run_values
from results.disclosure import disclosure_rule
from results.figures import MONTHLY_CELL
from results.open_data.suppression import Cell

FORMAT = "qanagat-open-data/1"
# A metric value is a code (a rating, yes/no, a choice's name, `answered` for a text): anything
# else is not published, so no free text can reach a package through a counter.
VALUE_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


def is_closed(period: Period, today_open: date | None = None) -> bool:
    """Every day of `period` is before the days completions may still change."""
    return period.end <= (today_open or first_open_day())


@dataclass(frozen=True)
class PublishedRun:
    number: int  # 1, 2, … within the package (no database id leaves the system)
    run: ScoreRun
    scores: pd.DataFrame
    inputs: pd.DataFrame  # agency, input, value
    agencies: pd.DataFrame  # agency, kind


@dataclass(frozen=True)
class LedgerHead:
    entries: int
    first_seq: int | None
    last_seq: int | None
    anchor_prev_hash: str | None
    head_hash: str | None


@dataclass
class PeriodData:
    """What a package is made of; `months` are the period's own, the cells' others only take
    part in deciding what is withheld."""

    period: Period
    cells: list[Cell]  # from the year's first month to the period's last (see `months`)
    runs: list[PublishedRun]
    places: dict[str, pd.DataFrame]
    ledger: LedgerHead
    fingerprint: str
    left_out_runs: list[str] = field(default_factory=list)

    @property
    def months(self) -> list[str]:
        return months_of(self.period)


def months_of(period: Period) -> list[str]:
    months, day = [], period.first
    while day < period.end:
        months.append(day.strftime("%Y-%m"))
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


async def package_periods(session: AsyncSession) -> list[Period]:
    """The periods with a package: every closed month with counters, and every closed period
    (year, quarter, month) with a published run."""
    names = set(await session.scalars(select(MonthlyRollup.month).distinct()))
    names |= {run.period for run in await published_score_runs(session)}
    periods = []
    for name in names:
        try:
            period = parse_period(name)
        except ValueError:
            continue
        if is_closed(period):
            periods.append(period)
    # newest year first; within a year the year's own package, its quarters, then its months
    return sorted(periods, key=lambda p: (p.first.year, _breadth(p), p.first), reverse=True)


def _breadth(period: Period) -> int:
    """2 for a year, 1 for a quarter, 0 for a month (whatever its number of days)."""
    return {4: 2}.get(len(period.name), 1 if "Q" in period.name else 0)


async def fingerprint(session: AsyncSession, period: Period) -> str:
    """Changes whenever the package would: a run published or withdrawn, older counters
    rewritten (the rollup revision), a re-chained ledger, another disclosure rule or format."""
    runs = [
        (run.id, run.published_at.isoformat() if run.published_at else "")
        for run in await published_score_runs(session, period.name)
    ]
    rechains = await session.scalar(select(func.count()).select_from(LedgerRechain))
    rule = disclosure_rule()
    state = {
        "format": FORMAT,
        "period": period.name,
        "rule": [rule.version, rule.minimum_cell],
        "revision": await rollup_revision(session),
        "runs": runs,
        "rechains": rechains,
        "places": await session.scalar(select(func.count()).select_from(ServicePoint)),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


async def gather(session: AsyncSession, period: Period) -> PeriodData:
    """Everything the package of a closed `period` is made from."""
    agencies = list(await session.scalars(select(Agency).order_by(Agency.code)))
    services = list(await session.scalars(select(PublicService).order_by(PublicService.code)))
    offices = list(await session.scalars(select(ServicePoint).order_by(ServicePoint.code)))
    agency_code = {a.id: a.code for a in agencies}
    agency_region = {a.id: a.region or "" for a in agencies}
    service_code = {s.id: s.code for s in services}
    office_code = {o.id: o.code for o in offices}
    office_region = {o.id: o.region or "" for o in offices}
    # decided over the year so far (suppression.suppress_cells), published for the period
    months = months_of(Period(period.name, date(period.first.year, 1, 1), period.end))
    rows = await session.execute(
        select(*MONTHLY_CELL)
        .where(MonthlyRollup.month.in_(months), MonthlyRollup.count > 0)
        .order_by(*MONTHLY_CELL[:-1])
    )
    cells = [
        Cell(
            month=month,
            agency=agency_code[agency_id],
            service=service_code[service_id],
            office=office_code.get(office, ""),
            metric=metric,
            value=value,
            count=int(count),
            region=office_region.get(office) or agency_region.get(agency_id, ""),
            agency_region=agency_region.get(agency_id, ""),
        )
        for month, agency_id, service_id, office, metric, value, count in rows
        if VALUE_CODE.match(metric)
        and VALUE_CODE.match(value)
        and agency_id in agency_code
        and service_id in service_code
    ]
    rule = disclosure_rule()
    runs: list[PublishedRun] = []
    left_out: list[str] = []
    for run in await published_score_runs(session, period.name):
        if run.min_sample < rule.minimum_cell:
            left_out.append(f"{run.methodology} {run.methodology_version}")
            continue
        kept = await run_inputs(session, run.id, run.period)
        if kept is None:  # a run stored before runs kept their inputs cannot be recomputed
            left_out.append(f"{run.methodology} {run.methodology_version}")
            continue
        inputs, kinds = kept
        runs.append(
            PublishedRun(
                len(runs) + 1,
                run,
                await score_run_values(session, run.id),
                inputs.drop(columns=["period"]),
                kinds,
            )
        )
    places = {
        "agencies": pd.DataFrame(
            [
                (a.code, a.kind.value, a.region or "", a.name_kk, a.name_ru, a.name_en)
                for a in agencies
            ],
            columns=["agency", "kind", "region", "name_kk", "name_ru", "name_en"],
        ),
        "services": pd.DataFrame(
            [
                (s.code, agency_code.get(s.agency_id, ""), s.name_kk, s.name_ru, s.name_en)
                for s in services
            ],
            columns=["service", "agency", "name_kk", "name_ru", "name_en"],
        ),
        "offices": pd.DataFrame(
            [
                (
                    o.code,
                    agency_code.get(o.agency_id, ""),
                    o.region or "",
                    o.name_kk,
                    o.name_ru,
                    o.name_en,
                )
                for o in offices
            ],
            columns=["office", "agency", "region", "name_kk", "name_ru", "name_en"],
        ),
    }
    return PeriodData(
        period=period,
        cells=cells,
        runs=runs,
        places=places,
        ledger=await ledger_head(session, period),
        fingerprint=await fingerprint(session, period),
        left_out_runs=left_out,
    )


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first, time(), REPORTING_TZ)
    end = datetime.combine(period.end, time(), REPORTING_TZ)
    return start, end


async def ledger_head(session: AsyncSession, period: Period) -> LedgerHead:
    """The run of the chain from the first to the last response completed in the period: what
    `qanagat ledger export --period` hands an auditor, to compare with this head."""
    start, end = _bounds(period)
    first, last = (
        await session.execute(
            select(func.min(LedgerEntry.seq), func.max(LedgerEntry.seq))
            .join(Response, Response.id == LedgerEntry.response_id)
            .where(Response.completed_at >= start, Response.completed_at < end)
        )
    ).one()
    if first is None:
        return LedgerHead(0, None, None, None, None)
    anchor = await session.scalar(select(LedgerEntry.prev_hash).where(LedgerEntry.seq == first))
    head = await session.scalar(select(LedgerEntry.entry_hash).where(LedgerEntry.seq == last))
    return LedgerHead(int(last) - int(first) + 1, int(first), int(last), anchor, head)


def describe_run(run: ScoreRun) -> dict[str, Any]:
    return {
        "methodology": run.methodology,
        "methodology_version": run.methodology_version,
        "methodology_hash": run.methodology_hash,
        "period": run.period,
        "min_sample": run.min_sample,
        "inputs_hash": run.inputs_hash,
        "agencies_hash": run.agencies_hash,
        "code_version": run.code_version,
        "published_at": run.published_at.isoformat(timespec="seconds") if run.published_at else "",
    }
