"""`qanagat results package|verify`: build a period's open-data package offline, and recompute
every published score of a package from the package alone (docs/open-results.md)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.settings import Settings

if TYPE_CHECKING:
    from core.periods import Period


@click.group("results")
def results_group() -> None:
    """The open results: open-data packages and their check."""


@results_group.command("package")
@click.argument("period")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to write the package (a folder and its zip) into.",
)
def package_command(period: str, out: Path) -> None:
    """Build the open-data package of a closed PERIOD (2025, 2025-Q1 or 2025-03)."""
    from core.periods import PeriodError, parse_period
    from results.open_data.gather import is_closed

    try:
        parsed = parse_period(period)
    except PeriodError as error:
        raise click.BadParameter(str(error), param_hint="PERIOD") from None
    if not is_closed(parsed):
        raise click.ClickException(
            f"{parsed.name} is not closed yet: its counts may still change; nothing written"
        )
    out.mkdir(parents=True, exist_ok=True)
    archive = asyncio.run(_package(Settings(), parsed, out))
    problems = _validate(archive.with_suffix(""))
    for problem in problems:
        click.echo(f"invalid: {problem}", err=True)
    click.echo(f"{archive.with_suffix('')}/: the package")
    click.echo(f"{archive}: the same, zipped")
    if problems:
        sys.exit(1)


async def _package(settings: Settings, period: Period, out: Path) -> Path:
    from core.db import create_engine, create_session_factory
    from results.open_data import build_package

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await build_package(session, period, out)
    finally:
        await engine.dispose()


def _validate(folder: Path) -> list[str]:
    """What `frictionless validate` finds wrong with the package (nothing, normally)."""
    from frictionless import Package

    report = Package(str(folder / "datapackage.json")).validate()
    return [f"{title}: {message}" for title, message in report.flatten(["title", "message"])]


@results_group.command("verify")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
def verify_command(package: Path) -> None:
    """Recompute every published score of PACKAGE (a zip or a folder) from the package alone:
    its methodology files, its inputs and the scoring code. Exit 1 when any differs."""
    from results.open_data.verify import PackageError, verify_package

    try:
        checks = verify_package(package)
    except PackageError as error:
        raise click.ClickException(str(error)) from None
    if not checks:
        click.echo("note: the package has no published score run; nothing to recompute")
    for check in checks:
        label = f"run {check.run} ({check.methodology} {check.version}, {check.period})"
        if check.problem is not None:
            click.echo(f"MISMATCH {label}: {check.problem}")
            continue
        for note in check.notes:
            click.echo(f"note: {label}: {note}")
        for agency in check.agencies:
            if agency.ok:
                click.echo(f"ok: {label} {agency.agency}")
            else:
                for mismatch in agency.mismatches:
                    click.echo(f"MISMATCH {label} {agency.agency}: {mismatch}")
        matched = sum(agency.ok for agency in check.agencies)
        click.echo(f"{label}: {matched} of {len(check.agencies)} bodies match")
    if all(check.ok for check in checks):
        click.echo("ok: every published score recomputes from the package")
        return
    sys.exit(1)
