"""`qanagat import indicators FILE` and `qanagat score …`: official indicators in, scores out.

Errors a person can fix (a bad file, an unknown methodology, no data for a period) print a
clear message and exit 1 (2 for wrong options), never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.cell_text import xlsx_cell
from core.indicator_file import IndicatorFileError, parse_indicator_file
from core.periods import Period, PeriodError, parse_period
from core.settings import Settings
from qanagat.file_import import import_checked

if TYPE_CHECKING:  # pandas and scoring load when a command needs them, not for every command
    import pandas as pd

    from scoring import Methodology

OUTPUT_COLUMNS = [
    *["agency", "period", "node", "value", "grade", "n", "ci_low", "ci_high", "status"],
    *["missing_inputs", "reason"],
]


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
    from core.indicators import check_indicator_file, store_indicators

    return await import_checked(
        settings,
        name,
        lambda session: check_indicator_file(session, content, name, input_rules()),
        lambda session, rows: store_indicators(session, rows, name),
    )


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
@click.option(
    "--explain",
    "explained",
    metavar="AGENCY",
    help="Print AGENCY's tree: each figure with its inputs, substituted formula, weight, n, "
    "interval, status and reason.",
)
@click.option(
    "--sensitivity",
    "draws",
    type=click.IntRange(1, 100_000),
    metavar="N",
    help="Draw N combinations of the methodology's assumptions within their ranges and show "
    "each agency's rank range, grade chances and the assumption that moves it most.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of --sensitivity's draws.")
@click.option(
    "--language",
    type=click.Choice(["kk", "ru", "en"]),
    default="en",
    show_default=True,
    help="Language of --explain and --sensitivity.",
)
def score_command(
    methodology_name: str | None,
    compared: tuple[str, str] | None,
    period: str,
    inputs_file: Path | None,
    out: Path | None,
    min_sample: int,
    explained: str | None,
    draws: int | None,
    seed: int,
    language: str,
) -> None:
    """Score every agency for PERIOD under a methodology, or compare two methodologies.

    Without --inputs the inputs come from the database (imported indicators and the survey's
    daily rollups) and each run is stored with its provenance."""
    if (methodology_name is None) == (compared is None):
        raise click.UsageError("give either --methodology NAME or --compare A B")
    if compared and (explained or draws):
        raise click.UsageError("--explain and --sensitivity take one --methodology, not --compare")
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
        if explained:
            _print_explanation(methodologies[0], scores, inputs, explained, parsed.name, language)
        if draws:
            from scoring.sensitivity import sensitivity

            table = sensitivity(methodologies[0], inputs, agencies, draws, seed, min_sample)
            _print_sensitivity(table, language)
            if out:
                _write(table, out)
        elif out:
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
    graded = totals.loc[totals["grade"].isin(["high", "medium", "low", "ineffective"]), "grade"]
    spread = ", ".join(f"{count} {grade}" for grade, count in graded.value_counts().items())
    provisional = int((totals["status"] == "provisional").sum())
    unscored = int((~totals["status"].isin(["ok", "provisional"])).sum())
    stored = f"; stored as run {run_id}" if run_id is not None else ""
    click.echo(
        f"{len(totals)} agencies scored: {spread or 'no totals'}"
        + (f"; {provisional} provisional (see reason)" if provisional else "")
        + (f"; {unscored} without a total (see status)" if unscored else "")
        + stored
    )
    # inputs nobody supplied, named, with how many agencies lack each
    lacking = scores.loc[scores["missing_inputs"].astype(str) != "", ["agency", "missing_inputs"]]
    if not lacking.empty:
        names = lacking.assign(input=lacking["missing_inputs"].str.split(",")).explode("input")
        counts = names.drop_duplicates(["agency", "input"])["input"].value_counts().sort_index()
        listed = ", ".join(f"{name} ({count})" for name, count in counts.items())
        click.echo(f"missing inputs (agencies lacking each): {listed}")


# Headings of --explain and --sensitivity in the reader's language.
HEADINGS = {
    "kk": {
        "node": "түйін",
        "value": "мәні",
        "status": "күйі",
        "weight": "салмақ",
        "share": "нақты үлес",
        "formula": "формула",
        "substituted": "мәндерімен",
        "inputs": "деректер",
        "reason": "себебі",
        "source": "дереккөзі",
        "interval": "95 % аралық",
        "agency": "орган",
        "kind": "түрі",
        "rank": "орын",
        "rank_range": "орын (5–95 %)",
        "grades": "бағалардың ықтималдығы",
        "driver": "ең көп әсер ететін болжам",
    },
    "ru": {
        "node": "узел",
        "value": "значение",
        "status": "статус",
        "weight": "вес",
        "share": "фактическая доля",
        "formula": "формула",
        "substituted": "с подставленными значениями",
        "inputs": "данные",
        "reason": "причина",
        "source": "источник",
        "interval": "95 % интервал",
        "agency": "орган",
        "kind": "вид",
        "rank": "место",
        "rank_range": "место (5–95 %)",
        "grades": "вероятность оценок",
        "driver": "допущение, сильнее всего влияющее",
    },
    "en": {
        "node": "node",
        "value": "value",
        "status": "status",
        "weight": "weight",
        "share": "weight used",
        "formula": "formula",
        "substituted": "with the numbers",
        "inputs": "inputs",
        "reason": "reason",
        "source": "source",
        "interval": "95 % interval",
        "agency": "agency",
        "kind": "kind",
        "rank": "rank",
        "rank_range": "rank (5-95 %)",
        "grades": "chance of each grade",
        "driver": "assumption that moves it most",
    },
}


def _print_explanation(
    methodology: Methodology,
    scores: pd.DataFrame,
    inputs: pd.DataFrame,
    agency: str,
    period: str,
    language: str,
) -> None:
    import pandas as pd

    from scoring.explain import explain, status_text

    try:
        table = explain(methodology, scores, inputs, agency, period, language)
    except KeyError:
        raise click.ClickException(f"no scores of {agency} for {period}") from None
    words = HEADINGS[language]

    def number(value: Any) -> str:
        return "—" if value is None or pd.isna(value) else f"{float(value):.6g}"

    for row in table.to_dict(orient="records"):
        indent = "  " * int(row["depth"])
        click.echo(f"{indent}{row['label']} [{row['node']}]")
        lines = [
            (words["value"], f"{number(row['value'])}  ({status_text(row['status'], language)})"),
            (words["weight"], f"{number(row['weight'])} → {number(row['share'])}")
            if row["weight"] is not None and not pd.isna(row["weight"])
            else ("", ""),
            (words["formula"], str(row["formula"] or "")),
            (words["substituted"], str(row["substituted"] or "")),
            (words["inputs"], str(row["inputs"] or "")),
            (
                words["interval"],
                f"n = {row['n']}, {number(row['ci_low'])} – {number(row['ci_high'])}",
            )
            if not pd.isna(row["n"])
            else ("", ""),
            (words["reason"], str(row["reason"] or "")),
            (words["source"], str(row["source"] or "")),
        ]
        for heading, text in lines:
            if heading and text:
                click.echo(f"{indent}  {heading}: {text}")


def _print_sensitivity(table: pd.DataFrame, language: str) -> None:
    import pandas as pd

    from scoring.explain import KIND_WORDS

    words = HEADINGS[language]
    table = table.assign(
        kind=table["kind"].map(lambda kind: KIND_WORDS.get(kind, {}).get(language, kind))
    )
    grades = [column for column in table.columns if column.startswith("p_")]
    click.echo(
        f"{words['agency']}  {words['kind']}  {words['value']}  {words['rank']}  "
        f"{words['rank_range']}  "
        f"{words['grades']} ({', '.join(g.removeprefix('p_') for g in grades)})  {words['driver']}"
    )
    for row in table.to_dict(orient="records"):
        if pd.isna(row["value"]):
            click.echo(f"{row['agency']}  {row['kind']}  —")
            continue
        chances = " ".join(f"{float(row[g]):.2f}" for g in grades)
        spread = f"{int(row['rank_p05'])}–{int(row['rank_p95'])}"
        driver = f"{row['driver']} ({float(row['driver_effect']):+.2f})" if row["driver"] else "—"
        click.echo(
            f"{row['agency']}  {row['kind']}  {float(row['value']):.2f}  {row['rank']}  "
            f"{spread}  {chances}  {driver}"
        )


def _print_comparison(table: pd.DataFrame, name_a: str, name_b: str) -> None:
    import pandas as pd

    def number(value: Any) -> str:
        return "—" if pd.isna(value) else f"{float(value):.2f}"

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
