"""The open-data registry: data sets from the portal's catalogue, stored one per external id.

    rows = await check_dataset_file(session, content, "catalogue.xlsx")  # or DatasetFileError
    result = await store_datasets(session, rows, withdraw_missing=False)  # then commit

A re-import updates a set by its external id. A set missing from a later catalogue is kept
(its ratings keep their subject); with `withdraw_missing` it is marked withdrawn, and a
withdrawn set that comes back in a catalogue takes the state the catalogue gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.dataset_file import DatasetRow, parse_dataset_file
from core.models import Agency, Dataset, DatasetState, UpdateFrequency

BATCH = 500
# How long a set may go without an update before it is overdue by its stated frequency: the
# longest such calendar interval (a 31-day month, a 92-day quarter, a leap year).
ALLOWED_GAP = {
    UpdateFrequency.DAILY: timedelta(days=1),
    UpdateFrequency.WEEKLY: timedelta(days=7),
    UpdateFrequency.MONTHLY: timedelta(days=31),
    UpdateFrequency.QUARTERLY: timedelta(days=92),
    UpdateFrequency.YEARLY: timedelta(days=366),
}


@dataclass(frozen=True)
class RegistryImport:
    added: int
    updated: int
    withdrawn: int


def overdue_days(
    frequency: UpdateFrequency, last_updated: date | None, state: DatasetState, today: date
) -> int | None:
    """Days a published set is late by its stated frequency (None: not late, irregular, not
    published, or never updated so there is nothing to measure from)."""
    gap = ALLOWED_GAP.get(frequency)
    if gap is None or last_updated is None or state is not DatasetState.PUBLISHED:
        return None
    late = (today - (last_updated + gap)).days
    return late if late > 0 else None


async def agency_ids(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Agency.code, Agency.id))
    return {code: agency_id for code, agency_id in rows.tuples()}


async def check_dataset_file(
    session: AsyncSession, content: bytes, filename: str
) -> list[DatasetRow]:
    """Parse and check a catalogue against the agencies in the database (a data set needs
    its agency's row); DatasetFileError if anything is wrong."""
    return parse_dataset_file(content, filename, set(await agency_ids(session)))


async def store_datasets(
    session: AsyncSession, rows: Sequence[DatasetRow], withdraw_missing: bool = False
) -> RegistryImport:
    """Insert the catalogue's sets, update those stored already; with `withdraw_missing`, mark
    the stored sets the catalogue lacks as withdrawn. The caller commits."""
    now = utcnow()
    agencies = await agency_ids(session)
    wanted = [row.external_id for row in rows]
    existing: dict[str, Dataset] = {}
    for start in range(0, len(wanted), BATCH):
        found = await session.scalars(
            select(Dataset).where(Dataset.external_id.in_(wanted[start : start + BATCH]))
        )
        existing.update({dataset.external_id: dataset for dataset in found})
    added = updated = 0
    for row in rows:
        values = {
            "agency_id": agencies[row.agency],
            "title_kk": row.title_kk,
            "title_ru": row.title_ru,
            "title_en": row.title_en,
            "url": row.url,
            "update_frequency": row.update_frequency,
            "last_updated": row.last_updated,
            "state": row.state,
        }
        dataset = existing.get(row.external_id)
        if dataset is None:
            session.add(
                Dataset(external_id=row.external_id, created_at=now, updated_at=now, **values)
            )
            added += 1
            continue
        changed = {name: value for name, value in values.items() if getattr(dataset, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(dataset, name, value)
            dataset.updated_at = now
            updated += 1
    withdrawn = 0
    if withdraw_missing:
        await session.flush()
        listed = set(wanted)
        stale = [
            dataset_id
            for dataset_id, external_id in (
                await session.execute(
                    select(Dataset.id, Dataset.external_id).where(
                        Dataset.state != DatasetState.WITHDRAWN
                    )
                )
            ).tuples()
            if external_id not in listed
        ]
        for start in range(0, len(stale), BATCH):
            await session.execute(
                update(Dataset)
                .where(Dataset.id.in_(stale[start : start + BATCH]))
                .values(state=DatasetState.WITHDRAWN, updated_at=now)
            )
        withdrawn = len(stale)
    return RegistryImport(added, updated, withdrawn)
