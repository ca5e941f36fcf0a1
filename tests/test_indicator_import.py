"""Importing official indicators: the parser checks every row and names its line, XLSX reads like
CSV, a file with a problem imports nothing, a re-import replaces values (SQLite, PostgreSQL)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.indicator_uploads import input_rules
from core.indicator_file import IndicatorFileError, IndicatorRow, parse_indicator_file
from core.indicators import indicator_inputs, scored_agencies, store_indicators
from core.models import Agency, AgencyKind, IndicatorValue
from qanagat.cli import main
from tests.db_backends import both_databases_fixture  # noqa: F401

RULES = input_rules()
KNOWN = {"MJ": "central", "AST": "local"}


def _csv(rows: list[list[object]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["agency", "period", "input", "value", "kind"],
    ["MJ", "2025", "services_delivered", 2_000_000, ""],
    ["MJ", "2025", "internal_control_share", 0.85, ""],
    ["AST", "2025-Q1", "openness_score", 71.5, "local"],
    ["NEW", "2025", "goal_achievement", 64, "central"],
    ["NEW", "2025", "hr_management", 70, ""],  # kind given once per agency is enough
]
EXPECTED = [
    IndicatorRow(2, "MJ", "2025", "services_delivered", 2_000_000, None),
    IndicatorRow(3, "MJ", "2025", "internal_control_share", 0.85, None),
    IndicatorRow(4, "AST", "2025-Q1", "openness_score", 71.5, "local"),
    IndicatorRow(5, "NEW", "2025", "goal_achievement", 64, "central"),
    IndicatorRow(6, "NEW", "2025", "hr_management", 70, None),
]


def test_a_good_csv_gives_its_rows_with_their_lines() -> None:
    assert parse_indicator_file(_csv(GOOD), "i.csv", RULES, KNOWN) == EXPECTED


def test_xlsx_reads_exactly_like_csv() -> None:
    assert parse_indicator_file(_xlsx(GOOD), "i.xlsx", RULES, KNOWN) == EXPECTED


def test_excel_csv_with_bom_semicolons_and_capitalised_header() -> None:
    rows = [["Agency", "Period", "Input", "Value"], ["MJ", "2025", "it_use", "88"]]
    content = b"\xef\xbb\xbf" + _csv(rows, delimiter=";")
    assert parse_indicator_file(content, "i.csv", RULES, KNOWN) == [
        IndicatorRow(2, "MJ", "2025", "it_use", 88, None)
    ]


def _problems(rows: list[list[object]]) -> list[str]:
    with pytest.raises(IndicatorFileError) as caught:
        parse_indicator_file(_csv(rows), "bad.csv", RULES, KNOWN)
    return [str(problem) for problem in caught.value.problems]


def test_every_bad_row_is_named_by_its_line() -> None:
    header = ["agency", "period", "input", "value", "kind"]
    problems = _problems(
        [
            header,
            ["MJ", "2025", "services_deliverd", "10", ""],  # 2: typo
            ["MJ", "2025", "services_delivered", "ten", ""],  # 3: not a number
            ["MJ", "2025", "internal_control_share", "85", ""],  # 4: a share above 1
            ["MJ", "2025", "complaints_late", "2.5", ""],  # 5: counts are whole
            ["MJ", "2025", "openness_score", "-1", ""],  # 6: points below 0
            ["ZZZ", "2025", "it_use", "50", ""],  # 7: unknown agency, no kind
            ["MJ", "25", "it_use", "50", ""],  # 8: bad period
            ["MJ", "2025", "hr_management", "50", ""],  # 9
            ["MJ", "2025", "hr_management", "51", ""],  # 10: duplicate of 9
            ["AST", "2025", "it_use", "50", "central"],  # 11: kind contradicts the database
            ["", "2025", "it_use", "50", ""],  # 12: no agency
            ["N2", "2025", "it_use", "50", "regional"],  # 13: bad kind
            ["MJ", "2025", "it_use", "inf", ""],  # 14: not finite
        ]
    )
    assert problems == [
        "bad.csv:2: unknown input 'services_deliverd'; did you mean 'services_delivered'? "
        "(docs/inputs.md lists the inputs)",
        "bad.csv:3: value 'ten' is not a number: write it as 50.5 or 50,5, without thousands"
        " separators",
        "bad.csv:4: internal_control_share must be a number from 0 to 1, not 85",
        "bad.csv:5: complaints_late must be a whole number of at least 0, not 2.5",
        "bad.csv:6: openness_score must be a number from 0 to 100, not -1",
        "bad.csv:7: agency 'ZZZ' is not in the database: give its kind (central or local) "
        "in a kind column, on one of its rows at least",
        "bad.csv:8: '25' is not a period: write a year (2025), a quarter (2025-Q1) or a "
        "month (2025-03)",
        "bad.csv:10: MJ 2025 hr_management is given already on line 9",
        "bad.csv:11: agency 'AST' is local in the database, the file says central",
        "bad.csv:12: agency is empty",
        "bad.csv:13: kind 'regional' is not central or local",
        "bad.csv:14: value 'inf' is not a number: write it as 50.5 or 50,5, without thousands"
        " separators",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bad.csv:1: the file is empty"),
        (b"agency,period,input,value\n", "bad.csv:1: the file has a header but no rows"),
        (b"agency,period,value\nMJ,2025,1\n", "bad.csv:1: the header lacks input"),
        (b"agency,period,input,value,note\n", "bad.csv:1: unknown column 'note'"),
        ("agency\n\xe9".encode("latin-1"), "bad.csv:1: the file is not UTF-8 text"),
    ],
)
def test_files_without_usable_rows_say_why(content: bytes, message: str) -> None:
    with pytest.raises(IndicatorFileError) as caught:
        parse_indicator_file(content, "bad.csv", RULES, KNOWN)
    assert str(caught.value.problems[0]).startswith(message)


def test_a_broken_xlsx_is_refused_in_one_line() -> None:
    with pytest.raises(IndicatorFileError) as caught:
        parse_indicator_file(b"PK\x03\x04 not really a zip", "bad.xlsx", RULES, KNOWN)
    assert str(caught.value).startswith("bad.xlsx:1: the file cannot be read as XLSX")


# --- properties ------------------------------------------------------------------------------

NAMES = sorted(RULES)
_value = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(float),
    # six decimals: a spreadsheet keeps 15 significant digits, not every bit of a double
    st.floats(min_value=0, max_value=1, allow_nan=False).map(lambda v: round(v, 6)),
)
_row = st.tuples(
    st.sampled_from(["MJ", "AST", "Ақмола", "NEW-1"]),
    st.sampled_from(["2024", "2025", "2025-Q3", "2025-11"]),
    st.sampled_from(NAMES),
    _value,
)


def _fits(name: str, value: float) -> bool:
    rule = RULES[name]
    return rule.low <= value <= rule.high and (not rule.whole or value.is_integer())


LIMITS = {
    "complaints_late": "complaints_reviewed",
    "complaints_court_upheld": "complaints_reviewed",
    "complaints_repeat_justified": "complaints_reviewed",
    "dataset_problems_resolved_in_time": "dataset_problems_due",
}


def _possible(rows: list[tuple[str, str, str, float]]) -> list[tuple[str, str, str, float]]:
    """Rows without values impossible together (more late than reviewed, published unplanned)."""
    given = {(a, p, i): v for a, p, i, v in rows}
    kept = []
    for agency, period, name, value in rows:
        limit = given.get((agency, period, LIMITS.get(name, "")))
        planned = given.get((agency, period, "open_data_planned"))
        if limit is not None and value > limit:
            continue
        if name == "open_data_published" and value > 0 and planned == 0:
            continue
        kept.append((agency, period, name, value))
    return kept


@settings(max_examples=60, deadline=None)
@given(st.lists(_row, min_size=1, max_size=30, unique_by=lambda r: r[:3]), st.booleans())
def test_valid_rows_written_as_csv_or_xlsx_parse_back_exactly(
    rows: list[tuple[str, str, str, float]], as_xlsx: bool
) -> None:
    rows = _possible([row for row in rows if _fits(row[2], row[3])])
    if not rows:
        return
    table: list[list[object]] = [["agency", "period", "input", "value", "kind"]]
    table += [[a, p, i, repr(v) if not as_xlsx else v, "local"] for a, p, i, v in rows]
    table = [
        [*row[:4], "" if row[0] in KNOWN else row[4]] if n else row for n, row in enumerate(table)
    ]
    content = _xlsx(table) if as_xlsx else _csv(table)
    parsed = parse_indicator_file(content, "p.xlsx" if as_xlsx else "p.csv", RULES, KNOWN)
    assert [(r.line, r.agency, r.period, r.input, r.value) for r in parsed] == [
        (number, *row) for number, row in enumerate(rows, start=2)
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=6), max_size=8))
def test_any_cells_give_rows_or_problems_never_a_crash(cells: list[list[str]]) -> None:
    content = _csv([["agency", "period", "input", "value", "kind"], *cells])
    try:
        rows = parse_indicator_file(content, "f.csv", RULES, KNOWN)
    except IndicatorFileError as error:
        problems = error.problems
        assert problems and all(str(p).startswith("f.csv:") for p in problems)
    else:
        assert all(_fits(row.input, row.value) for row in rows)


# --- storing ---------------------------------------------------------------------------------


async def test_storing_replaces_values_of_the_same_key(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        session.add(Agency(code="MJ", kind=AgencyKind.CENTRAL, name_kk="", name_ru="", name_en=""))
        await store_indicators(session, EXPECTED, "first.csv")
        await session.commit()
    replaced = [IndicatorRow(2, "MJ", "2025", "services_delivered", 5, None)]
    async with both_databases() as session:
        await store_indicators(session, replaced, "second.xlsx")
        await session.commit()
    async with both_databases() as session:
        frame = await indicator_inputs(session, "2025")
        sources = dict(
            (await session.execute(select(IndicatorValue.input, IndicatorValue.source_file))).all()
        )
        agencies = await scored_agencies(session)
    assert frame.to_dict(orient="records") == [
        {"agency": "MJ", "period": "2025", "input": "internal_control_share", "value": 0.85},
        {"agency": "MJ", "period": "2025", "input": "services_delivered", "value": 5.0},
        {"agency": "NEW", "period": "2025", "input": "goal_achievement", "value": 64.0},
        {"agency": "NEW", "period": "2025", "input": "hr_management", "value": 70.0},
    ]
    assert sources["services_delivered"] == "second.xlsx"
    assert sources["openness_score"] == "first.csv"
    assert agencies.to_dict(orient="records") == [
        {"agency": "AST", "kind": "local"},  # known only from the file's kind column
        {"agency": "MJ", "kind": "central"},
        {"agency": "NEW", "kind": "central"},
    ]


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = {"QANAGAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    return env


def test_import_command_stores_a_good_file_and_refuses_a_bad_one_whole(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "good.xlsx"
    good.write_bytes(_xlsx(GOOD[:1] + [[*row[:4], "central"] for row in GOOD[1:3]]))
    runner = CliRunner()
    result = runner.invoke(main, ["import", "indicators", str(good)], env=migrated)
    assert result.exit_code == 0, result.output
    assert "2 values imported" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        _csv([GOOD[0], ["X", "2025", "it_use", "1", "central"], ["X", "2025", "it_use", "2", ""]])
    )
    result = runner.invoke(main, ["import", "indicators", str(bad)], env=migrated)
    assert result.exit_code == 1
    assert f"{bad}:3: X 2025 it_use is given already on line 2" in result.output
    assert "nothing imported" in result.output and "Traceback" not in result.output

    missing = runner.invoke(
        main, ["import", "indicators", str(tmp_path / "nope.csv")], env=migrated
    )
    assert missing.exit_code == 1 and "cannot read" in missing.output


# --- values impossible together --------------------------------------------------------------

IMPOSSIBLE = [
    ["agency", "period", "input", "value", "kind"],
    ["MJ", "2025", "complaints_reviewed", 50, ""],  # 2
    ["MJ", "2025", "complaints_late", 120, ""],  # 3: f > p
    ["MJ", "2025", "complaints_court_upheld", 51, ""],  # 4: upheld above reviewed
    ["MJ", "2025", "complaints_repeat_justified", 50, ""],  # 5: as many as reviewed: possible
    ["AST", "2025", "open_data_planned", 0, ""],  # 6
    ["AST", "2025", "open_data_published", 3, ""],  # 7: published, none planned
    ["AST", "2025", "complaints_late", 500, ""],  # 8: no reviewed count given: nothing to check
    ["MJ", "2025", "internal_control_share", 1.5, ""],  # 9: a share outside 0-1
    ["MJ", "2025", "services_delivered", -1, ""],  # 10: a negative count
]


def test_values_impossible_together_are_refused_naming_agency_input_and_lines() -> None:
    assert _problems(IMPOSSIBLE) == [
        "bad.csv:3: MJ 2025: complaints_late is 120, above complaints_reviewed 50 on line 2: "
        "reviewed late cannot exceed reviewed (f ≤ p)",
        "bad.csv:4: MJ 2025: complaints_court_upheld is 51, above complaints_reviewed 50 on line 2:"
        " upheld by a court cannot exceed reviewed",
        "bad.csv:7: AST 2025: open_data_published is 3 but open_data_planned is 0 on line 6: "
        "published data sets must have been planned (the score divides by the plan)",
        "bad.csv:9: internal_control_share must be a number from 0 to 1, not 1.5",
        "bad.csv:10: services_delivered must be a whole number of at least 0, not -1",
    ]


def test_impossible_inputs_are_scored_and_stored_by_nothing(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "impossible.csv"
    bad.write_bytes(_csv(IMPOSSIBLE[:3]))
    runner = CliRunner()
    result = runner.invoke(main, ["import", "indicators", str(bad)], env=migrated)
    assert result.exit_code == 1
    assert f"{bad}:3: MJ 2025: complaints_late is 120, above complaints_reviewed 50" in (
        result.output
    )
    assert "nothing imported" in result.output
    scored = runner.invoke(
        main,
        ["score", "--methodology", "kz-2020", "--period", "2025", "--inputs", str(bad)],
        env=migrated,
    )
    assert scored.exit_code == 1
    assert "complaints_late is 120, above complaints_reviewed 50 on line 2" in scored.output
    assert "agencies scored" not in scored.output


def test_the_decimal_comma_of_kazakh_and_russian_spreadsheets_is_read() -> None:
    rows = [
        ["agency", "period", "input", "value"],
        ["MJ", "2025", "openness_score", "50,5"],
        ["MJ", "2025", "it_use", "88"],
        ["AST", "2025", "openness_score", "0,25"],
    ]
    content = _csv(rows, delimiter=";")
    assert [r.value for r in parse_indicator_file(content, "i.csv", RULES, KNOWN)] == [
        50.5,
        88,
        0.25,
    ]


def test_a_comma_that_could_be_a_thousands_separator_is_not_guessed() -> None:
    rows = [["agency", "period", "input", "value"], ["MJ", "2025", "services_delivered", "1,234"]]
    assert _problems(rows) == [
        "bad.csv:2: value '1,234' is not a number: write it as 50.5 or 50,5, without thousands"
        " separators"
    ]


@given(st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
def test_a_share_reads_the_same_with_a_decimal_point_or_comma(number: Decimal) -> None:
    point = f"{number:f}"
    values = []
    for written in (point, point.replace(".", ",")):
        rows = [["agency", "period", "input", "value"], ["MJ", "2025", "openness_score", written]]
        [row] = parse_indicator_file(_csv(rows, delimiter=";"), "i.csv", RULES, KNOWN)
        values.append(row.value)
    assert values == [float(point), float(point)]
