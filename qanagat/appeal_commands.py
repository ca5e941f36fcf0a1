"""`qanagat import appeals FILE`: the appeals-register export in, the complaints inputs out.

Like `qanagat import indicators`: a file with any problem imports nothing, prints every
problem as `file:line: what is wrong` and exits 1; a re-import updates appeals by external id.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from core.appeal_file import AppealFileError
from core.settings import Settings
from qanagat.file_import import import_checked
from qanagat.score_commands import read_file


@click.command("appeals")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_appeals(file: Path) -> None:
    """Import complaints and appeals from an appeals-register export FILE (CSV or XLSX: external
    id, agency, received, answered, deadline, outcome, court upheld, repeat, and optionally
    service and channel). A file with any problem imports nothing and exits 1."""
    content = read_file(file)
    try:
        stored = asyncio.run(_import(Settings(), content, file.name))
    except AppealFileError as error:
        for problem in error.problems:
            click.echo(f"{file}:{problem.line}: {problem.message}", err=True)
        click.echo(f"{file}: nothing imported ({len(error.problems)} problems)", err=True)
        sys.exit(1)
    click.echo(f"{file}: {stored} appeals imported (new or updated)")


async def _import(settings: Settings, content: bytes, name: str) -> int:
    from core.appeals import check_appeal_file, store_appeals

    return await import_checked(
        settings,
        name,
        lambda session: check_appeal_file(session, content, name),
        lambda session, rows: store_appeals(session, rows, name),
    )
