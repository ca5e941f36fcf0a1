"""`qanagat score`: the long CSV from a file or from the database, stored runs that recompute to
the last digit, the comparison of two methodologies, and clear errors without tracebacks."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import create_engine, create_session_factory
from core.models import Agency, AgencyKind, PublicService, ScoreRun
from core.rollups import add_rollup_rows
from core.score_runs import (
    latest_score_run,
    publish_score_run,
    published_score_runs,
    score_run_values,
    store_score_run,
    withdraw_score_run,
)
from qanagat.cli import main
from qanagat.scores import combine
from scoring import load_methodology, run_record, score
from tests.db_backends import both_databases_fixture  # noqa: F401
from tests.test_scoring_golden import AGENCIES, example_inputs

COLUMNS = "agency,period,node,value,grade,n,ci_low,ci_high,status,missing_inputs,reason"
SURVEY = {
    "responses",
    "satisfied_share",
    "info_satisfied_share",
    "unjustified_refusal_rate",
    "extra_documents_rate",
    "full_package_once_rate",
}


def _example_file(path: Path, inputs: pd.DataFrame | None = None) -> Path:
    frame = (example_inputs() if inputs is None else inputs).merge(AGENCIES, on="agency")
    frame.to_csv(path, index=False)
    return path


def _run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env=env)


def test_score_a_file_alone_writes_the_long_csv_of_every_node(tmp_path: Path) -> None:
    source = _example_file(tmp_path / "inputs.csv")
    out = tmp_path / "scores.csv"
    result = _run(
        "score", "--methodology", "proposed-s30", "--period", "2025", "--inputs", str(source),
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 agencies scored: 3 medium" in result.output
    assert out.read_text().splitlines()[0] == COLUMNS
    written = pd.read_csv(out, dtype={"period": str})
    expected = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    assert len(written) == len(expected)
    total = written.loc[(written["agency"] == "ministry_a") & (written["node"] == "total")]
    assert (
        total["value"].item()
        == expected.loc[
            (expected["agency"] == "ministry_a") & (expected["node"] == "total"), "value"
        ].item()
    )
    satisfaction = written.loc[
        (written["agency"] == "akimat_c") & (written["node"] == "satisfaction")
    ].iloc[0]
    assert satisfaction["n"] == 1000 and satisfaction["ci_low"] < satisfaction["value"]


def test_compare_prints_both_totals_grades_and_the_rank_change(tmp_path: Path) -> None:
    inputs = example_inputs()
    # akimat_b's citizens far less satisfied: a small dent under kz-2020, twice as deep under S
    # at 0.3 (kz-2020: 86.4125 - 0.45 * 1/3 * 1/2 * 50 * 0.45 = 84.725; proposed-s30:
    # 81.865767 - 0.135 * 0.5 * 100 * 0.45 = 78.828267)
    for name in ("satisfied_share",):
        inputs.loc[(inputs["agency"] == "akimat_b") & (inputs["input"] == name), "value"] = 0.05
    source = _example_file(tmp_path / "inputs.csv", inputs)
    out = tmp_path / "compare.xlsx"
    result = _run(
        "score", "--compare", "kz-2020", "proposed-s30", "--period", "2025",
        "--inputs", str(source), "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if line}
    assert lines["agency"][:4] == ["agency", "kind", "kz-2020", "grade"]
    # ranks are kept within central and within local bodies
    assert lines["ministry_a"] == [
        "ministry_a", "central", "80.60", "medium", "77.73", "medium", "1", "→", "1", "(0)"
    ]  # fmt: skip
    assert lines["akimat_b"][2:] == ["84.72", "medium", "78.83", "medium", "1", "→", "1", "(0)"]
    assert lines["akimat_c"][2:] == ["76.06", "medium", "75.41", "medium", "2", "→", "2", "(0)"]
    sheet = load_workbook(out).worksheets[0]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["agency", "period", "kind"] and header[-1] == "rank_change"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--methodology", "kz-2021"],
            1,
            "no methodology named 'kz-2021'; did you mean 'kz-2020'?",
        ),
        (["--methodology", "kz-2020", "--period", "2025-13"], 2, "is not a period"),
        (["--methodology", "nowhere/x.yaml"], 1, "nowhere/x.yaml: no such methodology file"),
        ([], 2, "give either --methodology NAME or --compare A B"),
        (["--methodology", "kz-2020", "--period", "2024"], 1, "no inputs for 2024"),
    ],
)
def test_errors_are_one_clear_message(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    source = _example_file(tmp_path / "inputs.csv")
    if "--period" not in args:
        args = [*args, "--period", "2025"]
    result = _run("score", *args, "--inputs", str(source))
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_bad_inputs_file_names_its_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("agency,period,input,value\nX,2025,it_use,5\n")
    result = _run("score", "--methodology", "kz-2020", "--period", "2025", "--inputs", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2: agency 'X' is not in the database" in result.output


def test_survey_inputs_from_rollups_win_for_agencies_with_responses() -> None:
    survey = pd.DataFrame(
        [("A", "2025", "responses", 150.0), ("A", "2025", "satisfied_share", 0.8)],
        columns=["agency", "period", "input", "value"],
    )
    imported = pd.DataFrame(
        [
            ("A", "2025", "responses", 9000.0),  # public monitoring: ignored, A has responses
            ("A", "2025", "full_package_once_rate", 0.1),  # ignored too: not from A's sample
            ("A", "2025", "goal_achievement", 70.0),
            ("B", "2025", "responses", 300.0),  # B has no responses: the file's figures count
            ("B", "2025", "satisfied_share", 0.6),
        ],
        columns=["agency", "period", "input", "value"],
    )
    combined = combine(survey, imported)
    assert sorted(map(tuple, combined.itertuples(index=False))) == [
        ("A", "2025", "goal_achievement", 70.0),
        ("A", "2025", "responses", 150.0),
        ("A", "2025", "satisfied_share", 0.8),
        ("B", "2025", "responses", 300.0),
        ("B", "2025", "satisfied_share", 0.6),
    ]


# --- from the database -----------------------------------------------------------------------


async def _seed_database(url: str) -> None:
    """The worked example's three agencies, their survey answers as rollups (400, 250, 1000
    responses with the example's shares), and no imported indicators yet."""
    engine = create_engine(url)
    inputs = example_inputs()
    async with create_session_factory(engine)() as session:
        for code, kind in AGENCIES.itertuples(index=False):
            agency = Agency(
                code=code, kind=AgencyKind(kind), name_kk=code, name_ru=code, name_en=code
            )
            session.add(agency)
            await session.flush()
            service = PublicService(
                code=f"{code}-S", agency_id=agency.id, name_kk="s", name_ru="s", name_en="s"
            )
            session.add(service)
            await session.flush()
            mine = inputs.loc[inputs["agency"] == code].set_index("input")["value"]
            n = int(mine["responses"])

            rows: list[dict[str, object]] = []

            def rollup(metric: str, value: str, count: int, day: str = "2025-05-01") -> None:
                rows.append(  # noqa: B023
                    {
                        "day": day, "agency_id": agency.id, "service_id": service.id,  # noqa: B023
                        "service_point_key": 0, "metric": metric, "value_key": value,
                        "count": count,
                    }
                )  # fmt: skip

            rollup("responses", "telegram", n - 10)
            rollup("responses", "web", 10, day="2025-11-30")
            for metric, share, good, bad in (
                ("satisfaction", "satisfied_share", "5", "2"),
                ("full_package_once", "full_package_once_rate", "yes", "no"),
            ):
                yes = round(float(mine[share]) * n)
                rollup(metric, good, yes)
                rollup(metric, bad, n - yes)
            await add_rollup_rows(session, rows)
        await session.commit()
    await engine.dispose()


def test_scoring_from_the_database_reads_rollups_and_indicators_and_stores_the_run(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    env = {"QANAGAT_DATABASE_URL": url}
    assert _run("db", "upgrade", env=env).exit_code == 0
    asyncio.run(_seed_database(url))
    official = example_inputs().loc[lambda f: ~f["input"].isin(SURVEY)]
    indicators = _example_file(tmp_path / "official.csv", official)
    imported = _run("import", "indicators", str(indicators), env=env)
    assert imported.exit_code == 0, imported.output

    outs = []
    for number in (1, 2):
        out = tmp_path / f"scores{number}.csv"
        result = _run(
            "score", "--methodology", "proposed-s30", "--period", "2025", "--out", str(out),
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"stored as run {number}" in result.output
        outs.append(out.read_bytes())
    # the same inputs give the same numbers, to the last digit
    assert outs[0] == outs[1]
    from_file = tmp_path / "from_file.csv"
    everything = _example_file(tmp_path / "all.csv")
    _run("score", "--methodology", "proposed-s30", "--period", "2025",
         "--inputs", str(everything), "--out", str(from_file))  # fmt: skip
    assert outs[0] == from_file.read_bytes()  # rollups give exactly the worked example's inputs

    async def stored() -> tuple[list[ScoreRun], pd.DataFrame, pd.DataFrame]:
        engine = create_engine(url)
        async with create_session_factory(engine)() as session:
            runs = list(await session.scalars(select(ScoreRun).order_by(ScoreRun.id)))
            first = await score_run_values(session, runs[0].id)
            second = await score_run_values(session, runs[1].id)
            count = await session.scalar(select(func.count()).select_from(ScoreRun))
        await engine.dispose()
        assert count == 2
        return runs, first, second

    runs, first, second = asyncio.run(stored())
    assert runs[0].inputs_hash == runs[1].inputs_hash and runs[0].methodology == "proposed-s30"
    assert runs[0].methodology_hash == load_methodology("proposed-s30").hash
    assert runs[0].code_version.startswith("0.1.0")
    pd.testing.assert_frame_equal(first, second)
    csv_rows = pd.read_csv(tmp_path / "scores1.csv", dtype={"period": str})
    assert first["value"].tolist() == pytest.approx(csv_rows["value"].tolist(), nan_ok=True, abs=0)


async def test_a_stored_run_reads_back_to_the_last_digit(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    methodology = load_methodology("kz-2020")
    scores = score(methodology, example_inputs(), AGENCIES)
    record = run_record(methodology, example_inputs(), AGENCIES, code_version="test")
    async with both_databases() as session:
        run_id = await store_score_run(session, asdict(record), "2025", scores)
        await session.commit()
    async with both_databases() as session:
        back = await score_run_values(session, run_id)
        run = await latest_score_run(session, "kz-2020", "2025")
    assert run is not None and run.id == run_id and run.inputs_hash == record.inputs_hash
    for column in ("value", "ci_low", "ci_high"):
        assert back[column].to_numpy().tobytes() == scores[column].to_numpy().tobytes()
    assert back["n"].tolist() == scores["n"].tolist()
    assert back["status"].tolist() == scores["status"].tolist()
    assert back["grade"].fillna("").tolist() == scores["grade"].fillna("").tolist()
    assert back["reason"].tolist() == scores["reason"].tolist()


async def test_a_run_stored_before_reasons_existed_still_opens_and_recomputes(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    """A run of the previous proposed-s30 (2026.2, 60/25/15 - penalties), stored by the code of
    its time (no reason column in its frame): it reads back, and its file is found by its hash
    and scores the same inputs again."""
    from scoring import methodology_by_hash

    old_hash = "fc92eabec4ed077765723847c28763b6b61cc4f686b83f3a49a8eb2e22b10c77"
    old = methodology_by_hash("proposed-s30", old_hash)
    assert old is not None and old.version == "2026.2" and old.hash == old_hash
    assert "defect_penalties" in old.nodes  # the project's earlier variant, kept readable
    inputs = example_inputs()
    scores = score(old, inputs, AGENCIES).drop(columns=["reason"])
    record = run_record(old, inputs, AGENCIES, code_version="0.1.0+before")
    async with both_databases() as session:
        run_id = await store_score_run(session, asdict(record), "2025", scores)
        await session.commit()
    async with both_databases() as session:
        back = await score_run_values(session, run_id)
        run = await latest_score_run(session, "proposed-s30", "2025")
    assert run is not None and run.methodology_hash == old_hash
    assert set(back["reason"]) == {""}
    again = methodology_by_hash(run.methodology, run.methodology_hash)
    assert again is not None
    recomputed = score(again, inputs, AGENCIES)
    assert back["value"].to_numpy().tobytes() == recomputed["value"].to_numpy().tobytes()
    assert methodology_by_hash("proposed-s30", "0" * 64) is None


# --- statuses, explanations and sensitivity from the command line ------------------------------


def _uneven_inputs() -> pd.DataFrame:
    """ministry_a planned no data sets and has no ratings; akimat_b has 40 responses; akimat_c
    lacks its open budget, dialogue and subordinate bodies figure (nobody supplied it)."""
    inputs = example_inputs()
    ministry = inputs["agency"] == "ministry_a"
    inputs = inputs.loc[~(ministry & inputs["input"].str.startswith("dataset_"))]
    inputs = inputs.loc[
        ~((inputs["agency"] == "akimat_c") & (inputs["input"] == "openness_other_score"))
    ]
    planned = (inputs["agency"] == "ministry_a") & inputs["input"].isin(
        ["open_data_planned", "open_data_published"]
    )
    inputs.loc[planned, "value"] = 0
    inputs.loc[(inputs["agency"] == "akimat_b") & (inputs["input"] == "responses"), "value"] = 40
    return inputs


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_each_status_reaches_the_csv_and_xlsx_with_its_reason(tmp_path: Path, suffix: str) -> None:
    source = _example_file(tmp_path / "inputs.csv", _uneven_inputs())
    out = tmp_path / f"scores.{suffix}"
    result = _run(
        "score", "--methodology", "proposed-s30", "--period", "2025", "--inputs", str(source),
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 agencies scored" in result.output and "2 provisional" in result.output
    assert "missing inputs (agencies lacking each): openness_other_score (1)" in result.output
    table = pd.read_csv(out) if suffix == "csv" else pd.read_excel(out)
    assert ",".join(table.columns) == COLUMNS
    rows = table.astype(object).where(table.notna(), "").set_index(["agency", "node"])
    # not applicable: left out, the row says so; its parent is ok, re-weighted
    assert rows.loc[("ministry_a", "open_data"), "status"] == "not_applicable"
    assert rows.loc[("ministry_a", "data_publication"), "reason"] == "zero:open_data_planned"
    assert rows.loc[("ministry_a", "openness"), "reason"] == "left_out:open_data"
    assert rows.loc[("ministry_a", "total"), "status"] == "ok"
    # insufficient sample: shown on the node, provisional up to the total
    assert rows.loc[("akimat_b", "satisfaction_level"), "status"] == "insufficient_sample"
    assert rows.loc[("akimat_b", "satisfaction_level"), "n"] == 40
    assert rows.loc[("akimat_b", "total"), "status"] == "provisional"
    assert rows.loc[("akimat_b", "total"), "grade"] == "medium"
    # missing: named
    assert rows.loc[("akimat_c", "other_openness"), "status"] == "missing"
    assert rows.loc[("akimat_c", "other_openness"), "missing_inputs"] == "openness_other_score"
    assert rows.loc[("akimat_c", "openness"), "reason"] == "without:other_openness"
    assert rows.loc[("akimat_c", "total"), "status"] == "provisional"


def test_explain_prints_each_figure_with_its_numbers_in_the_chosen_language(
    tmp_path: Path,
) -> None:
    source = _example_file(tmp_path / "inputs.csv")
    result = _run(
        "score", "--methodology", "proposed-s30", "--period", "2025", "--inputs", str(source),
        "--explain", "ministry_a", "--language", "kk",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Мемлекеттік орган қызметінің тиімділігі [total]" in result.output
    assert "мәндерімен: (0.45 * 82 + 0.45 * 72.948778 + 0.1 * 80) / 1" in result.output
    assert "100 / 20 * clamp(20 - 1000 * 80 / (0.01 * 2000000), 0, 20)" in result.output
    assert "зерттеу есебі, 2020, 2.5-бөлім" in result.output  # sources in the reader's words
    assert "research report" not in result.output and "assumption:" not in result.output
    assert "DOMAIN" not in result.output
    missing = _run(
        "score", "--methodology", "proposed-s30", "--period", "2025", "--inputs", str(source),
        "--explain", "nobody",
    )  # fmt: skip
    assert missing.exit_code == 1 and "no scores of nobody for 2025" in missing.output


def test_sensitivity_prints_rank_ranges_and_writes_its_table(tmp_path: Path) -> None:
    source = _example_file(tmp_path / "inputs.csv")
    out = tmp_path / "sensitivity.csv"
    result = _run(
        "score", "--methodology", "proposed-s30", "--period", "2025", "--inputs", str(source),
        "--sensitivity", "200", "--seed", "4", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if line}
    assert lines["ministry_a"][:5] == ["ministry_a", "central", "77.73", "1", "1–1"]
    table = pd.read_csv(out)
    assert {"rank_p05", "rank_p95", "p_high", "driver"} <= set(table.columns)
    assert (table["draws"] == 200).all()
    both = _run("score", "--compare", "kz-2020", "proposed-s30", "--period", "2025",
                "--inputs", str(source), "--sensitivity", "10")  # fmt: skip
    assert both.exit_code == 2 and "one --methodology" in both.output


async def test_publishing_a_run_withdraws_the_one_published_before_for_that_period(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    methodology = load_methodology("kz-2020")
    scores = score(methodology, example_inputs(), AGENCIES)
    record = asdict(run_record(methodology, example_inputs(), AGENCIES, code_version="test"))
    async with both_databases() as session:
        first = await store_score_run(session, record, "2025", scores)
        second = await store_score_run(session, record, "2025", scores)
        other_year = await store_score_run(session, record, "2024", scores)
        for run_id in (first, other_year):
            run = await session.get(ScoreRun, run_id)
            assert run is not None
            assert await publish_score_run(session, run, by="analyst") == []
        await session.commit()
    async with both_databases() as session:
        newer = await session.get(ScoreRun, second)
        assert newer is not None
        withdrawn = await publish_score_run(session, newer, by="chief")
        assert [run.id for run in withdrawn] == [first]
        await session.commit()
    async with both_databases() as session:
        published = await published_score_runs(session)
        assert [(run.id, run.period, run.published_by) for run in published] == [
            (second, "2025", "chief"),
            (other_year, "2024", "analyst"),
        ]
        assert [run.id for run in await published_score_runs(session, "2024")] == [other_year]
        run = await session.get(ScoreRun, other_year)
        assert run is not None
        withdraw_score_run(run)
        await session.commit()
    async with both_databases() as session:
        assert [run.id for run in await published_score_runs(session)] == [second]
