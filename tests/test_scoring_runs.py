"""A score run records what it was computed from, so any published number can be recomputed."""

from __future__ import annotations

import hashlib

import pandas as pd

from scoring.methodology import load_methodology
from scoring.runs import canonical_csv, inputs_hash, run_record
from tests.test_scoring_golden import AGENCIES, example_inputs


def test_a_run_records_the_methodology_the_inputs_and_the_code() -> None:
    methodology = load_methodology("proposed-s30")
    record = run_record(methodology, example_inputs(), AGENCIES, code_version="0.1.0+abc1234")
    assert record.methodology == "proposed-s30"
    assert record.methodology_version == methodology.version
    assert record.methodology_hash == methodology.hash
    assert record.inputs_hash == inputs_hash(example_inputs())
    assert record.min_sample == 100
    assert record.code_version == "0.1.0+abc1234"


def test_the_inputs_hash_ignores_row_order_and_how_numbers_were_read() -> None:
    inputs = example_inputs()
    shuffled = inputs.sample(frac=1, random_state=3)
    as_text = inputs.astype({"value": str, "period": int})
    extra_column = inputs.assign(source="file.xlsx")
    assert inputs_hash(shuffled) == inputs_hash(inputs)
    assert inputs_hash(as_text) == inputs_hash(inputs)
    assert inputs_hash(extra_column) == inputs_hash(inputs)


def test_any_changed_value_changes_the_inputs_hash() -> None:
    inputs = example_inputs()
    changed = inputs.copy()
    changed.loc[0, "value"] = changed.loc[0, "value"] + 1e-9
    assert inputs_hash(changed) != inputs_hash(inputs)
    duplicated = pd.concat([inputs, inputs.iloc[[0]]])
    assert inputs_hash(duplicated) != inputs_hash(inputs)


def test_the_canonical_csv_is_sorted_text_with_exact_numbers() -> None:
    inputs = pd.DataFrame(
        {
            "agency": ["b", "a", "a"],
            "period": [2025, 2025, 2025],
            "input": ["responses", "satisfied_share", "responses"],
            "value": [250, 0.1 + 0.2, None],
        }
    )
    text = canonical_csv(inputs, ("agency", "period", "input", "value"), "value").decode()
    assert text == (
        "agency,period,input,value\n"
        "a,2025,responses,\n"
        "a,2025,satisfied_share,0.30000000000000004\n"
        "b,2025,responses,250.0\n"
    )
    assert inputs_hash(inputs) == hashlib.sha256(text.encode()).hexdigest()


def test_the_kinds_of_agencies_are_part_of_the_record() -> None:
    methodology = load_methodology("kz-2020")
    local = AGENCIES.assign(kind="local")
    first = run_record(methodology, example_inputs(), AGENCIES, code_version="x")
    second = run_record(methodology, example_inputs(), local, code_version="x")
    assert first.agencies_hash != second.agencies_hash
