"""Appeals from the appeals-register export: stored one per external id, counted into the
complaints direction's inputs of a period.

    rows = await check_appeal_file(session, content, "register.xlsx")  # or AppealFileError
    await store_appeals(session, rows, "register.xlsx")                 # then commit
    inputs = await appeal_inputs(session, parse_period("2025"))  # agency, period, input, value

An appeal counts in the period its answer is dated in (reviewed = answered). Per agency with
at least one appeal reviewed in the period (docs/inputs.md, "Inputs from the appeals register"):

- ``complaints_reviewed`` (p, and m of R3): appeals reviewed;
- ``complaints_late`` (f): of those, answered after the deadline;
- ``complaints_court_upheld`` (a): of those, upheld by a court;
- ``complaints_repeat_justified`` (n): of those, repeat appeals found justified (confirmed or
  partially confirmed);
- ``quality_complaints``: of those, justified appeals about a public service (a service code
  given) — only for an agency whose appeals of the period carry service codes at all, since a
  register without them cannot tell service-quality complaints from the other appeals.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeal_file import JUSTIFIED, AppealRow, parse_appeal_file
from core.clock import utcnow
from core.indicators import scored_agencies, upsert
from core.models import Appeal
from core.periods import Period

APPEAL_INPUTS = (
    "complaints_reviewed",
    "complaints_late",
    "complaints_court_upheld",
    "complaints_repeat_justified",
    "quality_complaints",
)
APPEAL_COLUMNS = [
    "agency",
    "received_on",
    "answered_on",
    "deadline",
    "outcome",
    "court_upheld",
    "repeat",
    "service_code",
]


async def check_appeal_file(
    session: AsyncSession, content: bytes, filename: str
) -> list[AppealRow]:
    """Parse and check a register export against the agencies scoring knows (the database's
    and those of imported indicators); AppealFileError if anything is wrong."""
    known = set((await scored_agencies(session))["agency"])
    return parse_appeal_file(content, filename, known)


async def store_appeals(session: AsyncSession, rows: Sequence[AppealRow], source_file: str) -> int:
    """Insert the appeals, updating those whose external id is stored already (a re-import of
    a later export); the caller commits."""
    now = utcnow()
    records = [
        {
            "external_id": row.external_id,
            "agency_code": row.agency,
            "received_on": row.received,
            "answered_on": row.answered,
            "deadline": row.deadline,
            "outcome": row.outcome,
            "court_upheld": row.court_upheld,
            "repeat": row.repeat,
            "service_code": row.service,
            "channel": row.channel,
            "source_file": source_file[-300:],
            "imported_at": now,
        }
        for row in rows
    ]
    await upsert(session, Appeal, ["external_id"], records)
    return len(records)


def inputs_from_appeals(appeals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The complaints inputs of ``period`` from appeals (columns ``APPEAL_COLUMNS``) as
    ``agency, period, input, value`` rows; see the module docstring for each input."""
    answered = pd.to_datetime(appeals["answered_on"], errors="coerce")
    first, end = pd.Timestamp(period.first), pd.Timestamp(period.end)
    reviewed = appeals.loc[(answered >= first) & (answered < end)]
    if reviewed.empty:
        return pd.DataFrame(columns=["agency", "period", "input", "value"]).astype(
            {"value": "float64"}
        )
    justified = reviewed["outcome"].isin(JUSTIFIED)
    has_service = reviewed["service_code"].notna() & (reviewed["service_code"] != "")
    flags = pd.DataFrame(
        {
            "agency": reviewed["agency"],
            "complaints_reviewed": True,
            "complaints_late": pd.to_datetime(reviewed["answered_on"])
            > pd.to_datetime(reviewed["deadline"]),
            "complaints_court_upheld": reviewed["court_upheld"].astype(bool),
            "complaints_repeat_justified": reviewed["repeat"].astype(bool) & justified,
            "quality_complaints": justified & has_service,
            "_with_service": has_service,
        }
    )
    sums = flags.groupby("agency", sort=True).sum()
    long = sums.drop(columns="_with_service").reset_index()
    long = long.melt(id_vars="agency", var_name="input", value_name="value")
    coded = set(sums.index[sums["_with_service"] > 0])
    keep = (long["input"] != "quality_complaints") | long["agency"].isin(coded)
    long = long.loc[keep].assign(period=period.name, value=lambda f: f["value"].astype("float64"))
    long = long.sort_values(["agency", "input"], kind="stable")
    return long.loc[:, ["agency", "period", "input", "value"]].reset_index(drop=True)


async def appeals_frame(session: AsyncSession, period: Period) -> pd.DataFrame:
    """The stored appeals answered in ``period`` (columns ``APPEAL_COLUMNS``)."""
    rows = await session.execute(
        select(
            Appeal.agency_code,
            Appeal.received_on,
            Appeal.answered_on,
            Appeal.deadline,
            Appeal.outcome,
            Appeal.court_upheld,
            Appeal.repeat,
            Appeal.service_code,
        ).where(Appeal.answered_on >= period.first, Appeal.answered_on < period.end)
    )
    return pd.DataFrame(rows.all(), columns=APPEAL_COLUMNS)


async def appeal_inputs(session: AsyncSession, period: Period) -> pd.DataFrame:
    """The complaints inputs of ``period`` from the stored appeals."""
    return inputs_from_appeals(await appeals_frame(session, period), period)
