"""Open data: a Frictionless Data Package per closed period (`package.py`), what of it may be
public (`suppression.py`), read from the database (`gather.py`), served at /results/data
(`web.py`) and recomputed from the package alone (`verify.py`). docs/open-results.md."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core.periods import Period
from results.open_data.gather import gather
from results.open_data.package import write_package, zip_package


async def build_package(session: AsyncSession, period: Period, out: Path) -> Path:
    """Write the package of `period` into `out/<name>/` and zip it beside; returns the zip."""
    folder = write_package(await gather(session, period), out)
    return zip_package(folder)
