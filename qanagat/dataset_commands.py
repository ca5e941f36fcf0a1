"""`qanagat import datasets FILE`: the open-data portal's catalogue in, the data-set registry out.

Like `qanagat import appeals`: a file with any problem (an unknown agency, a bad row) imports
nothing, prints every problem as `file:line: what is wrong` and exits 1; a re-import updates
sets by external id. Sets missing from the file stay as they are, or are marked withdrawn with
`--withdraw-missing` (for a full catalogue).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from core.dataset_file import DatasetFileError
from core.datasets import RegistryImport
from core.settings import Settings
from qanagat.file_import import import_checked
from qanagat.score_commands import read_file


@click.command("datasets")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--withdraw-missing",
    is_flag=True,
    help="FILE is the full catalogue: mark stored data sets it lacks as withdrawn.",
)
def import_datasets(file: Path, withdraw_missing: bool) -> None:
    """Import open data sets from a portal catalogue FILE (CSV or XLSX: external id, agency,
    title kk, title ru, optionally title en, URL, update frequency, optionally last updated,
    planned or published). A file with any problem imports nothing and exits 1."""
    content = read_file(file)
    try:
        result = asyncio.run(_import(Settings(), content, file.name, withdraw_missing))
    except DatasetFileError as error:
        for problem in error.problems:
            click.echo(f"{file}:{problem.line}: {problem.message}", err=True)
        click.echo(f"{file}: nothing imported ({len(error.problems)} problems)", err=True)
        sys.exit(1)
    click.echo(
        f"{file}: {result.added} data sets added, {result.updated} updated, "
        f"{result.withdrawn} withdrawn"
    )


async def _import(
    settings: Settings, content: bytes, name: str, withdraw_missing: bool
) -> RegistryImport:
    from core.datasets import check_dataset_file, store_datasets

    return await import_checked(
        settings,
        name,
        lambda session: check_dataset_file(session, content, name),
        lambda session, rows: store_datasets(session, rows, withdraw_missing),
    )
