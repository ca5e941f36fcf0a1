"""Imported official indicators: stored one per agency, period and input, read back for scoring.

    rows = await check_indicator_file(session, content, "2025.xlsx", rules)   # or raises
    stored = await store_indicators(session, rows, "2025.xlsx")               # then commit

The command line (`qanagat import indicators`) and, later, the admin's upload both go through
these two functions: parse and check everything first (core.indicator_file), store only a file
without problems, in one transaction. A re-import replaces the values of the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.indicator_file import IndicatorRow, InputRule, parse_indicator_file
from core.models import Agency, AgencyKind, Base, IndicatorValue

BATCH = 5000  # rows per executemany


async def agency_kinds(session: AsyncSession) -> dict[str, str]:
    """Every agency the database knows: code -> `central` / `local`."""
    rows = await session.execute(select(Agency.code, Agency.kind))
    return {code: kind.value for code, kind in rows.all()}


async def check_indicator_file(
    session: AsyncSession, content: bytes, filename: str, rules: Mapping[str, InputRule]
) -> list[IndicatorRow]:
    """Parse and check a file against the database's agencies (IndicatorFileError if bad)."""
    return parse_indicator_file(content, filename, rules, await agency_kinds(session))


async def store_indicators(
    session: AsyncSession, rows: Sequence[IndicatorRow], source_file: str
) -> int:
    """Insert or replace `rows` (by agency, period, input); the caller commits."""
    now = utcnow()
    records = [
        {
            "agency_code": row.agency,
            "period": row.period,
            "input": row.input,
            "value": row.value,
            "agency_kind": AgencyKind(row.kind) if row.kind else None,
            "source_file": source_file[-300:],
            "imported_at": now,
        }
        for row in rows
    ]
    await upsert(session, IndicatorValue, ["agency_code", "period", "input"], records)
    return len(rows)


async def upsert(
    session: AsyncSession, model: type[Base], keys: list[str], records: list[dict[str, Any]]
) -> None:
    """Insert `records` into `model`'s table, updating every other column of a row whose
    unique `keys` exist already (PostgreSQL and SQLite); the caller commits."""
    if not records:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model)
    # one statement compiled once, executed for every row (executemany)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in records[0] if name not in keys},
    )
    for start in range(0, len(records), BATCH):
        await session.execute(statement, records[start : start + BATCH])


async def indicator_inputs(session: AsyncSession, period: str) -> pd.DataFrame:
    """The imported values of `period` as `agency, period, input, value` rows."""
    rows = await session.execute(
        select(
            IndicatorValue.agency_code,
            IndicatorValue.period,
            IndicatorValue.input,
            IndicatorValue.value,
        )
        .where(IndicatorValue.period == period)
        .order_by(IndicatorValue.agency_code, IndicatorValue.input)
    )
    frame = pd.DataFrame(rows.all(), columns=["agency", "period", "input", "value"])
    frame["value"] = frame["value"].astype("float64")
    return frame


async def scored_agencies(session: AsyncSession) -> pd.DataFrame:
    """`agency, kind` of every agency: the database's, then those known only from imported
    files (their `kind` column)."""
    known = await agency_kinds(session)
    imported = await session.execute(
        select(IndicatorValue.agency_code, func.min(IndicatorValue.agency_kind))
        .where(IndicatorValue.agency_kind.is_not(None))
        .group_by(IndicatorValue.agency_code)
    )
    rows = dict(known)
    for code, kind in imported.all():
        rows.setdefault(code, kind.value if isinstance(kind, AgencyKind) else str(kind))
    return pd.DataFrame(sorted(rows.items()), columns=["agency", "kind"])
