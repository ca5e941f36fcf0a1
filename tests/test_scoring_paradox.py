"""The complaint paradox table of docs/methodology.md is the code's own output."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.paradox import complaint_paradox

DOC = Path(__file__).resolve().parent.parent / "docs" / "methodology.md"


def _doc_table() -> list[list[float]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- paradox -->")[1].split("<!-- /paradox -->")[0]
    rows = [line for line in block.strip().splitlines()[2:] if line.startswith("|")]
    return [[float(cell) for cell in row.strip("|").split("|")] for row in rows]


def test_the_documented_paradox_table_is_what_the_code_computes() -> None:
    table = complaint_paradox()
    computed = table.to_numpy(dtype="float64").tolist()
    documented = _doc_table()
    assert len(documented) == len(computed)
    for written, row in zip(documented, computed, strict=True):
        assert written == pytest.approx(row, abs=1e-9)


def test_more_complaints_raise_kz_2020_but_leave_the_fix_unchanged() -> None:
    table = complaint_paradox()
    assert table["sum_kz_2020"].is_monotonic_increasing
    assert table["sum_kz_2020"].iloc[0] < 0  # few complaints: below zero
    assert table["sum_proposed"].nunique() == 1  # the number received does not matter
    assert (table[["r1_proposed", "r2_proposed", "r3_proposed"]] >= 0).all().all()
