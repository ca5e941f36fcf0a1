"""Importing the appeals register: every bad row named by its line, nothing imported from a bad
file, a re-import updates by external id, and the complaints inputs on hand-counted numbers."""

from __future__ import annotations

import csv
import dataclasses
import io
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.appeal_file import (
    CONFIRMED,
    OUTCOMES,
    PARTIALLY_CONFIRMED,
    UNCONFIRMED,
    AppealFileError,
    AppealRow,
    outcome_of,
    parse_appeal_file,
)
from core.appeals import appeal_inputs, inputs_from_appeals, store_appeals
from core.indicator_file import IndicatorRow
from core.indicators import store_indicators
from core.models import Agency, AgencyKind, Appeal
from core.periods import parse_period
from qanagat.cli import main
from qanagat.scores import database_inputs, with_appeals
from tests.db_backends import both_databases_fixture  # noqa: F401

KNOWN = {"MJ", "AST"}
HEADER = [
    "External ID",
    "Agency",
    "Date received",
    "Date answered",
    "Deadline",
    "Outcome",
    "Court upheld",
    "Repeat",
    "Service",
    "Channel",
]
GOOD = [
    HEADER,
    ["A1", "MJ", "2025-01-05", "2025-01-20", "2025-01-25", "confirmed", "no", "no", "S1", "Body"],
    ["A2", "MJ", "10.01.2025", "10.02.2025", "31.01.2025", "Частично подтверждена", "нет", "да", "S1", ""],  # noqa: E501
    ["A3", "MJ", "2025-02-01", "2025-03-01", "2025-02-20", "не подтверждена", "да", "да", "", ""],
    ["A4", "MJ", "2025-03-20", "", "2025-04-10", "Разъяснено", "no", "no", "", ""],
    ["A5", "MJ", "2025-03-25", "2025-04-02", "2025-04-15", "расталды", "no", "yes", "S2", ""],
    ["A6", "AST", "2025-02-02", "2025-02-10", "2025-02-28", "Ішінара расталды", "жоқ", "иә", "", ""],  # noqa: E501
]  # fmt: skip
# Q1 2025 by hand (reviewed = answered in the quarter; A4 unanswered, A5 answered in Q2):
# MJ: reviewed A1 A2 A3 = 3; late A2 (10.02 > 31.01), A3 (01.03 > 20.02) = 2; court A3 = 1;
#     repeat and justified A2 = 1 (A3 is a repeat but unconfirmed); justified with a service
#     code A1 A2 = 2.  AST: reviewed 1, late 0, court 0, repeat justified 1; no service codes,
#     so no quality_complaints.
Q1 = {
    ("AST", "complaints_court_upheld"): 0.0,
    ("AST", "complaints_late"): 0.0,
    ("AST", "complaints_repeat_justified"): 1.0,
    ("AST", "complaints_reviewed"): 1.0,
    ("MJ", "complaints_court_upheld"): 1.0,
    ("MJ", "complaints_late"): 2.0,
    ("MJ", "complaints_repeat_justified"): 1.0,
    ("MJ", "complaints_reviewed"): 3.0,
    ("MJ", "quality_complaints"): 2.0,
}


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


def _as_dict(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(r.agency, r.input): r.value for r in frame.itertuples()}


def test_a_good_register_export_gives_its_appeals_with_their_lines() -> None:
    rows = parse_appeal_file(_csv(GOOD), "r.csv", KNOWN)
    assert rows[0] == AppealRow(
        line=2,
        external_id="A1",
        agency="MJ",
        received=date(2025, 1, 5),
        answered=date(2025, 1, 20),
        deadline=date(2025, 1, 25),
        outcome=CONFIRMED,
        court_upheld=False,
        repeat=False,
        service="S1",
        channel="body",
    )
    assert [row.outcome for row in rows] == [
        CONFIRMED,
        PARTIALLY_CONFIRMED,
        UNCONFIRMED,
        "explained",
        CONFIRMED,
        PARTIALLY_CONFIRMED,
    ]
    assert rows[1].received == date(2025, 1, 10) and rows[1].repeat
    assert rows[3].answered is None
    assert parse_appeal_file(_xlsx(GOOD), "r.xlsx", KNOWN) == rows
    assert parse_appeal_file(_csv(GOOD, ";"), "r.csv", KNOWN) == rows


@pytest.mark.parametrize(
    ("spelling", "outcome"),
    [
        ("Подтверждено", CONFIRMED),
        ("ПОДТВЕРЖДЁННАЯ", None),
        ("частично-удовлетворено", PARTIALLY_CONFIRMED),
        ("Не подтвердилась.", UNCONFIRMED),
        ("partially_confirmed", PARTIALLY_CONFIRMED),
        ("негізсіз", UNCONFIRMED),
        ("оставлено без рассмотрения", "not_considered"),
        ("maybe", None),
    ],
)
def test_register_spellings_of_outcomes(spelling: str, outcome: str | None) -> None:
    assert outcome_of(spelling) == outcome


def test_every_bad_row_is_named_by_its_line() -> None:
    rows = [
        HEADER,
        ["A1", "MJ", "2025-01-05", "2025-01-20", "2025-01-25", "confirmed", "no", "no", "", ""],
        ["A1", "MJ", "2025-01-05", "", "2025-01-25", "confirmed", "no", "no", "", ""],
        ["", "MJJ", "31.02.2025", "", "", "maybe", "perhaps", "no", "", ""],
        ["A3", "AST", "2025-02-05", "2025-02-01", "2025-01-01", "unconfirmed", "", "", "", ""],
    ]  # fmt: skip
    with pytest.raises(AppealFileError) as caught:
        parse_appeal_file(_csv(rows), "r.csv", KNOWN)
    assert [str(problem) for problem in caught.value.problems] == [
        "r.csv:3: appeal 'A1' is given already on line 2",
        "r.csv:4: external_id is empty",
        "r.csv:4: agency 'MJJ' is not known; did you mean 'MJ'?",
        "r.csv:4: received '31.02.2025' is not a date (write 2025-03-31 or 31.03.2025)",
        "r.csv:4: deadline is empty",
        "r.csv:4: outcome 'maybe' is not known; write confirmed, partially confirmed, "
        "unconfirmed, explained, forwarded, not considered or withdrawn (or the register's "
        "Russian or Kazakh wording)",
        "r.csv:4: court_upheld 'perhaps' is not yes or no",
        "r.csv:5: answered 2025-02-01 is before received 2025-02-05",
        "r.csv:5: deadline 2025-01-01 is before received 2025-02-05",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "r.csv:1: the file is empty"),
        (_csv([HEADER]), "r.csv:1: the file has a header but no rows"),
        (_csv([["external id", "agency", "colour"]]), "r.csv:1: unknown column 'colour'"),
        (_csv([["external id", "agency"]]), "r.csv:1: the header lacks received, answered"),
        (b"\xff\xfe\x00bad", "r.csv:1: the file is not UTF-8 text"),
    ],
)
def test_files_without_usable_rows_say_why(content: bytes, message: str) -> None:
    with pytest.raises(AppealFileError) as caught:
        parse_appeal_file(content, "r.csv", KNOWN)
    assert any(str(problem).startswith(message) for problem in caught.value.problems)


def test_inputs_of_a_quarter_on_hand_counted_numbers() -> None:
    rows = parse_appeal_file(_csv(GOOD), "r.csv", KNOWN)
    frame = pd.DataFrame([dataclasses.asdict(row) for row in rows]).rename(
        columns={"received": "received_on", "answered": "answered_on", "service": "service_code"}
    )
    q1 = inputs_from_appeals(frame, parse_period("2025-Q1"))
    assert _as_dict(q1) == Q1
    assert set(q1["period"]) == {"2025-Q1"}
    q2 = _as_dict(inputs_from_appeals(frame, parse_period("2025-Q2")))
    assert q2 == {
        ("MJ", "complaints_court_upheld"): 0.0,
        ("MJ", "complaints_late"): 0.0,
        ("MJ", "complaints_repeat_justified"): 1.0,
        ("MJ", "complaints_reviewed"): 1.0,
        ("MJ", "quality_complaints"): 1.0,
    }
    assert inputs_from_appeals(frame, parse_period("2024")).empty


def test_appeals_derived_values_win_over_imported_ones_of_the_same_agency_and_input() -> None:
    imported = pd.DataFrame(
        [
            ("AST", "2025-Q1", "quality_complaints", 7.0),  # AST's appeals have no service codes
            ("MJ", "2025-Q1", "complaints_reviewed", 99.0),
            ("MJ", "2025-Q1", "services_delivered", 1000.0),
            ("NEW", "2025-Q1", "complaints_reviewed", 5.0),  # no appeals: kept
        ],
        columns=["agency", "period", "input", "value"],
    )
    derived = pd.DataFrame(
        [(agency, "2025-Q1", name, value) for (agency, name), value in Q1.items()],
        columns=["agency", "period", "input", "value"],
    )
    combined = _as_dict(with_appeals(imported, derived))
    assert combined == {
        **Q1,
        ("AST", "quality_complaints"): 7.0,
        ("MJ", "services_delivered"): 1000.0,
        ("NEW", "complaints_reviewed"): 5.0,
    }
    assert with_appeals(imported, derived.iloc[0:0]) is imported


# --- properties -------------------------------------------------------------------------------

_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def _appeal(draw: st.DrawFn, number: int) -> AppealRow:
    received = draw(_days)
    answered = draw(st.one_of(st.none(), st.dates(min_value=received, max_value=date(2031, 1, 1))))
    return AppealRow(
        line=number + 2,
        external_id=f"X-{number}",
        agency=draw(st.sampled_from(sorted(KNOWN))),
        received=received,
        answered=answered,
        deadline=draw(st.dates(min_value=received, max_value=date(2031, 6, 1))),
        outcome=draw(st.sampled_from(OUTCOMES)),
        court_upheld=draw(st.booleans()),
        repeat=draw(st.booleans()),
        service=draw(st.one_of(st.none(), st.sampled_from(["S1", "S-22"]))),
        channel=draw(st.one_of(st.none(), st.sampled_from(["body", "blog"]))),
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12).flatmap(lambda n: st.tuples(*[_appeal(i) for i in range(n)])),
    dotted=st.booleans(),
    xlsx=st.booleans(),
)
def test_valid_appeals_written_as_csv_or_xlsx_parse_back_exactly(
    rows: tuple[AppealRow, ...], dotted: bool, xlsx: bool
) -> None:
    def day(value: date | None) -> str:
        if value is None:
            return ""
        return value.strftime("%d.%m.%Y") if dotted else value.isoformat()

    table: list[list[object]] = [HEADER]
    for row in rows:
        table.append(
            [
                row.external_id,
                row.agency,
                day(row.received),
                day(row.answered),
                day(row.deadline),
                row.outcome.replace("_", " "),
                "yes" if row.court_upheld else "no",
                "да" if row.repeat else "",
                row.service or "",
                row.channel or "",
            ]
        )
    content = _xlsx(table) if xlsx else _csv(table)
    assert parse_appeal_file(content, "p", KNOWN) == list(rows)


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(
        st.lists(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(["MJ", "2025-01-01", "01.02.2025", "yes", "нет", "confirmed"]),
            ),
            min_size=8,
            max_size=10,
        ),
        max_size=6,
    )
)
def test_any_cells_give_appeals_or_problems_never_a_crash(cells: list[list[str]]) -> None:
    content = _csv([HEADER[:8], *cells])
    problems = None
    try:
        rows = parse_appeal_file(content, "p", KNOWN)
    except AppealFileError as error:
        problems = error.problems
    if problems is not None:
        assert problems and all(problem.line >= 1 for problem in problems)
    else:
        assert len(rows) == len([row for row in cells if any(c.strip() for c in row)])


# --- storing and the database inputs --------------------------------------------------------


async def test_stored_appeals_update_by_external_id_and_feed_the_score_inputs(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    rows = parse_appeal_file(_csv(GOOD), "first.csv", KNOWN)
    async with both_databases() as session:
        for code, kind in (("MJ", AgencyKind.CENTRAL), ("AST", AgencyKind.LOCAL)):
            session.add(Agency(code=code, kind=kind, name_kk="", name_ru="", name_en=""))
        await store_indicators(
            session,
            [
                IndicatorRow(2, "MJ", "2025-Q1", "complaints_reviewed", 99, None),
                IndicatorRow(3, "MJ", "2025-Q1", "services_delivered", 1000, None),
            ],
            "indicators.csv",
        )
        await store_appeals(session, rows, "first.csv")
        await session.commit()
    async with both_databases() as session:
        assert _as_dict(await appeal_inputs(session, parse_period("2025-Q1"))) == Q1
    # a later export: A1 was confirmed, now found unconfirmed; A4 has been answered, late
    later = [
        HEADER,
        ["A1", "MJ", "2025-01-05", "2025-01-20", "2025-01-25", "unconfirmed", "no", "no", "S1", ""],
        ["A4", "MJ", "2025-03-20", "2025-03-31", "2025-03-30", "разъяснено", "no", "no", "", ""],
    ]  # fmt: skip
    async with both_databases() as session:
        await store_appeals(
            session, parse_appeal_file(_csv(later), "later.csv", KNOWN), "later.csv"
        )
        await session.commit()
    async with both_databases() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 6
        outcome = await session.scalar(select(Appeal.outcome).where(Appeal.external_id == "A1"))
        inputs, _ = await database_inputs(session, parse_period("2025-Q1"))
    assert outcome == UNCONFIRMED
    values = _as_dict(inputs)
    assert values[("MJ", "complaints_reviewed")] == 4.0  # A1 A2 A3 A4, not the imported 99
    assert values[("MJ", "complaints_late")] == 3.0  # A2 A3 A4
    assert values[("MJ", "quality_complaints")] == 1.0  # A2 only now
    assert values[("MJ", "services_delivered")] == 1000.0


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = {"QANAGAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    return env


def test_import_command_stores_a_good_file_and_refuses_a_bad_one_whole(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    # the agencies become known through an indicator file with their kinds
    indicators = tmp_path / "indicators.csv"
    indicators.write_bytes(
        _csv(
            [
                ["agency", "period", "input", "value", "kind"],
                ["MJ", "2025", "services_delivered", "10", "central"],
                ["AST", "2025", "services_delivered", "10", "local"],
            ]
        )
    )
    assert (
        runner.invoke(main, ["import", "indicators", str(indicators)], env=migrated).exit_code == 0
    )
    good = tmp_path / "register.xlsx"
    good.write_bytes(_xlsx(GOOD))
    result = runner.invoke(main, ["import", "appeals", str(good)], env=migrated)
    assert result.exit_code == 0, result.output
    assert "6 appeals imported" in result.output

    bad = tmp_path / "bad.csv"
    fresh = ["B1", *GOOD[1][1:]]  # a good new appeal in a bad file: not imported either
    bad.write_bytes(_csv([GOOD[0], fresh, [*GOOD[2][:5], "maybe", *GOOD[2][6:]]]))
    result = runner.invoke(main, ["import", "appeals", str(bad)], env=migrated)
    assert result.exit_code == 1
    assert f"{bad}:3: outcome 'maybe' is not known" in result.output
    assert "nothing imported (1 problems)" in result.output and "Traceback" not in result.output
    database = migrated["QANAGAT_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT count(*) FROM appeal").fetchone() == (6,)

    again = runner.invoke(main, ["import", "appeals", str(good)], env=migrated)
    assert again.exit_code == 0 and "6 appeals imported" in again.output
    missing = runner.invoke(main, ["import", "appeals", str(tmp_path / "nope.csv")], env=migrated)
    assert missing.exit_code == 1 and "cannot read" in missing.output
