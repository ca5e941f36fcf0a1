"""`qanagat import indicators FILE` and `qanagat score …`: official indicators in, scores out.

Errors a person can fix (a bad file, an unknown methodology, no data for a period) print a
clear message and exit 1 (2 for wrong options), never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.cell_text import xlsx_cell
from core.indicator_file import IndicatorFileError, parse_indicator_file
from core.periods import Period, PeriodError, parse_period
from core.settings import Settings

if TYPE_CHECKING:  # pandas and scoring load when a command needs them, not for every command
    import pandas as pd

    from scoring import Methodology

OUTPUT_COLUMNS = ["agency", "period", "node", "value", "grade", "n", "ci_low", "ci_high", "status"]


@click.group("import")
def import_group() -> None:
    """Import data from files."""


@import_group.command("indicators")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_indicators(file: Path) -> None:
    """Import official indicators from FILE (CSV or XLSX, columns agency, period, input, value
    and optionally kind). A file with any problem imports nothing and exits 1."""
    content = read_file(file)
    try:
        stored = asyncio.run(_import(Settings(), content, file.name))
    except IndicatorFileError as error:
        for problem in error.problems:
            click.echo(f"{file}:{problem.line}: {problem.message}", err=True)
        click.echo(f"{file}: nothing imported ({len(error.problems)} problems)", err=True)
        sys.exit(1)
    click.echo(f"{file}: {stored} values imported")


def read_file(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise click.ClickException(f"{file}: cannot read: {error.strerror or error}") from None


async def _import(settings: Settings, content: bytes, name: str) -> int:
    from admin.indicator_uploads import input_rules
    from core.db import create_engine, create_session_factory
    from core.indicators import check_indicator_file, store_indicators

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await check_indicator_file(session, content, name, input_rules())
            stored = await store_indicators(session, rows, name)
            await session.commit()
            return stored
    finally:
        await engine.dispose()


@click.command("score")
@click.option("--methodology", "methodology_name", help="A shipped methodology's name or a file.")
@click.option(
    "--compare",
    "compared",
    nargs=2,
    metavar="A B",
    help="Compare two methodologies instead: totals, grades and the rank change per agency.",
)
@click.option("--period", required=True, help="2025, 2025-Q1 or 2025-03.")
@click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Score this indicator file alone, without the database (nothing is stored).",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="CSV (or XLSX).")
@click.option(
    "--min-sample", default=100, show_default=True, help="Responses a survey figure needs."
)
def score_command(
    methodology_name: str | None,
    compared: tuple[str, str] | None,
    period: str,
    inputs_file: Path | None,
    out: Path | None,
    min_sample: int,
) -> None:
    """Score every agency for PERIOD under a methodology, or compare two methodologies.

    Without --inputs the inputs come from the database (imported indicators and the survey's
    daily rollups) and each run is stored with its provenance."""
    if (methodology_name is None) == (compared is None):
        raise click.UsageError("give either --methodology NAME or --compare A B")
    try:
        parsed = parse_period(period)
    except PeriodError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    names = list(compared) if compared else [str(methodology_name)]
    methodologies = [_methodology(name) for name in names]
    inputs, agencies = _inputs(parsed, inputs_file)
    if inputs.empty:
        where = str(inputs_file) if inputs_file else "the database"
        raise click.ClickException(
            f"no inputs for {parsed.name} in {where}: import indicators "
            "(qanagat import indicators FILE) or collect survey responses for that period"
        )
    results = _score(methodologies, parsed, inputs, agencies, min_sample, store=not inputs_file)
    if compared:
        from scoring import compare

        table = compare(results[0][0], results[1][0], agencies=agencies)
        _print_comparison(table, *names)
        if out:
            _write(table, out)
    else:
        scores, run_id = results[0]
        _summary(scores, run_id)
        if out:
            _write(scores.loc[:, OUTPUT_COLUMNS], out)
    if out:
        click.echo(f"written: {out}")


def _methodology(name: str) -> Methodology:
    from scoring import MethodologyError, load_methodology

    try:
        return load_methodology(name)
    except MethodologyError as error:
        raise click.ClickException(f"the methodology file is not valid:\n{error}") from None
    except FileNotFoundError as error:
        if error.filename:  # a path that names no file
            raise click.ClickException(f"{name}: no such methodology file") from None
        raise click.ClickException(str(error)) from None


def _inputs(period: Period, inputs_file: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    from admin.indicator_uploads import input_rules
    from qanagat.scores import rows_to_inputs

    if inputs_file is not None:
        try:
            rows = parse_indicator_file(read_file(inputs_file), inputs_file.name, input_rules(), {})
        except IndicatorFileError as error:
            for problem in error.problems:
                click.echo(f"{inputs_file}:{problem.line}: {problem.message}", err=True)
            raise click.ClickException(f"{inputs_file}: the file has problems") from None
        inputs, agencies = rows_to_inputs([row for row in rows if row.period == period.name])
        return inputs, agencies
    return asyncio.run(_database_inputs(Settings(), period))


async def _database_inputs(settings: Settings, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import create_engine, create_session_factory
    from qanagat.scores import database_inputs

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await database_inputs(session, period)
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"cannot read the database ({type(error).__name__}); run `qanagat db upgrade`"
        ) from None
    finally:
        await engine.dispose()


def _score(
    methodologies: list[Methodology],
    period: Period,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    min_sample: int,
    store: bool,
) -> list[tuple[pd.DataFrame, int | None]]:
    from qanagat.scores import score_inputs

    if not store:
        return [(score_inputs(m, inputs, agencies, min_sample), None) for m in methodologies]
    return asyncio.run(
        _score_and_store(Settings(), methodologies, period, inputs, agencies, min_sample)
    )


async def _score_and_store(
    settings: Settings,
    methodologies: list[Methodology],
    period: Period,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    min_sample: int,
) -> list[tuple[pd.DataFrame, int | None]]:
    from core.db import create_engine, create_session_factory
    from qanagat.scores import score_and_store

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            runs = [
                await score_and_store(session, m, period, inputs, agencies, min_sample)
                for m in methodologies
            ]
            await session.commit()
            return [(run.scores, run.run_id) for run in runs]
    finally:
        await engine.dispose()


def _summary(scores: pd.DataFrame, run_id: int | None) -> None:
    totals = scores.loc[scores["node"] == "total"]
    graded = totals["grade"].dropna().value_counts()
    spread = ", ".join(f"{count} {grade}" for grade, count in graded.items())
    unscored = int((totals["status"] != "ok").sum())
    stored = f"; stored as run {run_id}" if run_id is not None else ""
    click.echo(
        f"{len(totals)} agencies scored: {spread or 'no totals'}"
        + (f"; {unscored} without a total (see status)" if unscored else "")
        + stored
    )


def _print_comparison(table: pd.DataFrame, name_a: str, name_b: str) -> None:
    import pandas as pd

    def number(value: object) -> str:
        return "—" if pd.isna(value) else f"{float(value):.2f}"  # type: ignore[arg-type]

    def text(value: object) -> str:
        return "—" if pd.isna(value) else str(value)  # type: ignore[call-overload]

    width = max([len("agency"), *(len(str(a)) for a in table["agency"])])
    click.echo(
        f"{'agency':<{width}}  {'kind':<7}  {name_a:>12} {'grade':<11}  {name_b:>12} {'grade':<11}"
        "  rank change"
    )
    for row in table.to_dict(orient="records"):
        change = row["rank_change"]
        moved = "—" if pd.isna(change) else f"{int(change):+d}" if change else "0"
        click.echo(
            f"{row['agency']:<{width}}  {text(row.get('kind')):<7}  "
            f"{number(row['value_a']):>12} {text(row['grade_a']):<11}  "
            f"{number(row['value_b']):>12} {text(row['grade_b']):<11}  "
            f"{text(row['rank_a'])} → {text(row['rank_b'])} ({moved})"
        )


def _write(table: pd.DataFrame, out: Path) -> None:
    try:
        if out.suffix.lower() == ".xlsx":
            table.map(xlsx_cell).to_excel(out, index=False, engine="openpyxl")
        else:
            table.to_csv(out, index=False, lineterminator="\n")
    except OSError as error:
        raise click.ClickException(f"{out}: cannot write: {error.strerror or error}") from None
