"""Importing the open-data catalogue: every bad row named by its line, nothing imported from a
bad file or one naming an unknown agency, a re-import updates by external id, and a set missing
from a later catalogue is kept (or withdrawn when asked)."""

from __future__ import annotations

import csv
import io
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from core.dataset_file import (
    DatasetFileError,
    frequency_of,
    is_web_address,
    parse_dataset_file,
    state_of,
)
from core.models import DatasetState, UpdateFrequency
from qanagat.cli import main

KNOWN = {"MJ", "ALA"}
HEADER = [
    "External ID",
    "Agency",
    "Title kk",
    "Title ru",
    "Title en",
    "URL",
    "Update frequency",
    "Last updated",
    "State",
]
GOOD = [
    HEADER,
    ["MJ-1", "MJ", "Нотариустар тізілімі", "Реестр нотариусов", "Notaries", "https://data.egov.kz/mj1", "monthly", "2025-02-28", "published"],  # noqa: E501
    ["MJ-2", "MJ", "Сот шешімдері", "Решения судов", "", "https://data.egov.kz/mj2", "Ежеквартально", "31.12.2024", "Опубликован"],  # noqa: E501
    ["ALA-1", "ALA", "Балабақшалар", "Детские сады", "", "http://opendata.almaty.kz/k", "жыл сайын", "", "planned"],  # noqa: E501
]  # fmt: skip


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_good_catalogue_gives_its_sets_with_their_lines() -> None:
    for content, name in ((_csv(GOOD), "c.csv"), (_xlsx(GOOD), "c.xlsx")):
        rows = parse_dataset_file(content, name, KNOWN)
        assert [(row.line, row.external_id, row.agency) for row in rows] == [
            (2, "MJ-1", "MJ"),
            (3, "MJ-2", "MJ"),
            (4, "ALA-1", "ALA"),
        ]
        first, second, third = rows
        assert first.title_en == "Notaries" and second.title_en is None
        assert (first.update_frequency, first.last_updated) == (
            UpdateFrequency.MONTHLY,
            date(2025, 2, 28),
        )
        assert (second.update_frequency, second.state) == (
            UpdateFrequency.QUARTERLY,
            DatasetState.PUBLISHED,
        )
        assert (third.update_frequency, third.last_updated, third.state) == (
            UpdateFrequency.YEARLY,
            None,
            DatasetState.PLANNED,
        )


@pytest.mark.parametrize(
    ("spelling", "frequency"),
    [
        ("Daily", UpdateFrequency.DAILY),
        ("еженедельно", UpdateFrequency.WEEKLY),
        ("ай сайын", UpdateFrequency.MONTHLY),
        ("Тоқсан сайын", UpdateFrequency.QUARTERLY),
        ("ежегодно", UpdateFrequency.YEARLY),
        ("по мере обновления", UpdateFrequency.IRREGULAR),
        ("sometimes", None),
    ],
)
def test_portal_spellings_of_update_frequencies(
    spelling: str, frequency: UpdateFrequency | None
) -> None:
    assert frequency_of(spelling) == frequency


def test_withdrawn_is_qanagats_state_never_a_catalogues() -> None:
    assert state_of("Жарияланған") is DatasetState.PUBLISHED
    assert state_of("запланирован") is DatasetState.PLANNED
    assert state_of("withdrawn") is None


def test_every_bad_row_is_named_by_its_line_and_none_is_imported() -> None:
    bad = [
        HEADER,
        GOOD[1],
        ["MJ-1", "MJ", "a", "b", "", "https://x.kz", "monthly", "", "published"],  # repeated
        ["X-1", "MOJ", "a", "b", "", "https://x.kz", "monthly", "", "published"],  # agency
        ["X-2", "ALA", "", "b", "", "ftp://x.kz", "often", "2025-13-01", "gone"],
        ["", "ALA", "a", "", "", "", "daily", "", "planned"],
    ]
    with pytest.raises(DatasetFileError) as caught:
        parse_dataset_file(_csv(bad), "c.csv", KNOWN)
    messages = [str(problem) for problem in caught.value.problems]
    assert messages == [
        "c.csv:3: data set 'MJ-1' is given already on line 2",
        "c.csv:4: agency 'MOJ' is not known; did you mean 'MJ'?",
        "c.csv:5: title_kk is empty",
        "c.csv:5: url 'ftp://x.kz' is not a web address (write https://...)",
        "c.csv:5: update_frequency 'often' is not known; write daily, weekly, monthly, "
        "quarterly, yearly or irregular (or the portal's Russian or Kazakh wording)",
        "c.csv:5: last_updated '2025-13-01' is not a date (write 2025-03-31 or 31.03.2025)",
        "c.csv:5: state 'gone' is not known; write planned or published",
        "c.csv:6: external_id is empty",
        "c.csv:6: title_ru is empty",
        "c.csv:6: url is empty",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (_csv([HEADER]), "the file has a header but no rows"),
        (_csv([["id", "agency", "colour"]]), "unknown column 'colour'"),
        (_csv([["id", "agency"]]), "the header lacks title_kk, title_ru, url"),
        ("id,agency\n".encode("cp1251") + "Ж".encode("cp1251"), "is not UTF-8"),
    ],
)
def test_files_without_usable_rows_say_why(content: bytes, message: str) -> None:
    with pytest.raises(DatasetFileError) as caught:
        parse_dataset_file(content, "c.csv", KNOWN)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("https://data.egov.kz/datasets/view?index=x", True),
        ("http://opendata.almaty.kz", True),
        ("data.egov.kz/x", False),
        ("https://", False),
        ("https://data egov.kz", False),
        ("javascript:alert(1)", False),
    ],
)
def test_only_web_addresses_are_urls(text: str, ok: bool) -> None:
    assert is_web_address(text) is ok


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.text(max_size=12), min_size=0, max_size=11),
        max_size=6,
    )
)
def test_any_cells_give_data_sets_or_problems_never_a_crash(cells: list[list[str]]) -> None:
    problems = None
    try:
        rows = parse_dataset_file(_csv([HEADER, *cells]), "c.csv", KNOWN)
    except DatasetFileError as error:
        problems = error.problems
    if problems is not None:
        assert problems and all(problem.line >= 1 for problem in problems)
    else:
        assert len(rows) == len([row for row in cells if any(c.strip() for c in row)])


# --- the command, on a migrated database ------------------------------------------------------


@pytest.fixture
def migrated(tmp_path: Path) -> dict[str, str]:
    env = {"QANAGAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    database = env["QANAGAT_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(database)) as connection:
        for code, kind in (("MJ", "central"), ("ALA", "local")):
            connection.execute(
                "INSERT INTO agency (code, kind, name_kk, name_ru, name_en, language)"
                " VALUES (?, ?, ?, ?, ?, 'kk')",
                (code, kind, code, code, code),
            )
        connection.commit()
    return env


def _registry(env: dict[str, str]) -> dict[str, tuple[str, str, str | None]]:
    database = env["QANAGAT_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT external_id, state, title_ru, last_updated FROM dataset")
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


def test_the_command_imports_updates_and_withdraws_only_when_asked(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    good = tmp_path / "catalogue.xlsx"
    good.write_bytes(_xlsx(GOOD))
    result = runner.invoke(main, ["import", "datasets", str(good)], env=migrated)
    assert result.exit_code == 0, result.output
    assert "3 data sets added, 0 updated, 0 withdrawn" in result.output
    assert _registry(migrated)["ALA-1"] == ("planned", "Детские сады", None)

    # a bad file: a good new set in it is not imported either, and nothing changes
    bad = tmp_path / "bad.csv"
    fresh = ["MJ-9", *GOOD[1][1:]]
    unknown = ["ALA-2", "AST", *GOOD[3][2:]]
    bad.write_bytes(_csv([HEADER, fresh, unknown]))
    result = runner.invoke(main, ["import", "datasets", str(bad)], env=migrated)
    assert result.exit_code == 1
    assert f"{bad}:3: agency 'AST' is not known" in result.output
    assert "nothing imported (1 problems)" in result.output and "Traceback" not in result.output
    assert set(_registry(migrated)) == {"MJ-1", "MJ-2", "ALA-1"}

    # a later catalogue: ALA-1 published, MJ-2 gone from it; kept without the flag
    later = tmp_path / "later.csv"
    published = [*GOOD[3][:6], "yearly", "2025-06-01", "published"]
    later.write_bytes(_csv([HEADER, GOOD[1], published]))
    result = runner.invoke(main, ["import", "datasets", str(later)], env=migrated)
    assert "0 data sets added, 1 updated, 0 withdrawn" in result.output, result.output
    assert _registry(migrated)["ALA-1"] == ("published", "Детские сады", "2025-06-01")
    assert _registry(migrated)["MJ-2"][0] == "published"
    result = runner.invoke(
        main, ["import", "datasets", "--withdraw-missing", str(later)], env=migrated
    )
    assert "0 data sets added, 0 updated, 1 withdrawn" in result.output, result.output
    assert _registry(migrated)["MJ-2"][0] == "withdrawn"
    # back in a catalogue: it takes the catalogue's state again
    result = runner.invoke(main, ["import", "datasets", str(good)], env=migrated)
    assert "0 data sets added, 2 updated, 0 withdrawn" in result.output, result.output
    assert _registry(migrated)["MJ-2"][0] == "published"
    missing = runner.invoke(main, ["import", "datasets", str(tmp_path / "no.csv")], env=migrated)
    assert missing.exit_code == 1 and "cannot read" in missing.output
