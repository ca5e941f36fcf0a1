"""`qanagat qr OFFICE...`: print the day's poster of offices (SVG, PNG and PDF)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.settings import Settings
from qanagat.progress import progress_bar

if TYPE_CHECKING:
    from core.models import ServicePoint
    from core.walk_ins import OfficeCodes


@click.command("qr")
@click.argument("offices", nargs=-1)
@click.option("--all", "every_office", is_flag=True, help="Every office in the database.")
@click.option(
    "--day",
    default=None,
    help="The day the poster is for, YYYY-MM-DD (default: today, Kazakhstan time).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("posters"),
    show_default=True,
    help="Directory for the files.",
)
def qr(offices: tuple[str, ...], every_office: bool, day: str | None, out: Path) -> None:
    """Write a printable poster per office: Telegram and web QR codes, in Kazakh and Russian.

    The codes on a poster work on its day and QANAGAT_POSTER_GRACE_DAYS after: print it daily,
    or show it on a screen in the office."""
    from core.clock import reporting_day, utcnow

    if not offices and not every_office:
        raise click.UsageError("name at least one office code, or --all")
    try:
        poster_day = datetime.strptime(day, "%Y-%m-%d").date() if day else reporting_day(utcnow())
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--day") from None
    out.mkdir(parents=True, exist_ok=True)
    written = asyncio.run(_write(Settings(), offices, every_office, poster_day, out))
    for path in written:
        click.echo(str(path))


async def _write(
    settings: Settings, codes: tuple[str, ...], every_office: bool, day: date, out: Path
) -> list[Path]:
    from sqlalchemy import select

    from core.db import create_engine, create_session_factory
    from core.models import ServicePoint
    from core.walk_ins import OfficeCodes

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            query = select(ServicePoint).order_by(ServicePoint.code)
            if not every_office:
                query = query.where(ServicePoint.code.in_(codes))
            offices = list(await session.scalars(query))
    finally:
        await engine.dispose()
    missing = sorted(set(codes) - {office.code for office in offices})
    if missing:
        raise click.ClickException(f"no such office: {', '.join(missing)}")
    signer = OfficeCodes(settings.secret_bytes(), settings.poster_grace_days)
    written: list[Path] = []
    with progress_bar("rendering posters", len(offices) if every_office else 0) as advance:
        for office in offices:
            written += _render(office, day, signer, settings, out)
            advance(1)
    return written


def _render(
    office: ServicePoint, day: date, signer: OfficeCodes, settings: Settings, out: Path
) -> list[Path]:
    """One office's poster as SVG, PNG and PDF files in `out`."""
    from core.posters import PosterOffice, PosterRenderingUnavailable, render_poster
    from core.walk_ins import PosterCodeError

    try:
        poster = render_poster(
            PosterOffice(office.code, office.name_kk, office.name_ru),
            day,
            signer,
            public_url=settings.public_url,
            bot_username=settings.telegram_bot_username,
        )
        files = {".svg": poster.svg.encode(), ".png": poster.png(), ".pdf": poster.pdf()}
    except (PosterCodeError, PosterRenderingUnavailable) as error:
        raise click.ClickException(str(error)) from None
    written: list[Path] = []
    for suffix, data in files.items():
        path = out / f"{poster.file_stem}{suffix}"
        path.write_bytes(data)
        written.append(path)
    return written
