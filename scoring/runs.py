"""What a score run must remember to be recomputed: the methodology, the inputs, the code.

    record = run_record(methodology, inputs, agencies, code_version="0.1.0+37ecdea")

Hashes are sha256 of canonical text: the methodology file's bytes as shipped, and the inputs as a
CSV sorted by agency, period, input and value with numbers written in their shortest exact form,
so the same rows in another order, or read from CSV instead of XLSX, hash the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.compute import AGENCY_COLUMNS, DEFAULT_MIN_SAMPLE, INPUT_COLUMNS, _require
from scoring.model import Methodology


@dataclass(frozen=True)
class RunRecord:
    """The provenance of one score run; store it beside the scores."""

    methodology: str
    methodology_version: str
    methodology_hash: str
    inputs_hash: str
    agencies_hash: str
    min_sample: int
    code_version: str


def canonical_csv(frame: pd.DataFrame, keys: tuple[str, ...], numeric: str | None) -> bytes:
    """The frame's `keys` columns (and the `numeric` one) as sorted CSV text, for hashing."""
    table = frame.loc[:, list(keys)].copy()
    for column in keys:
        if column == numeric:
            numbers = pd.to_numeric(table[column], errors="coerce").astype("float64")
            numbers = numbers.where(np.isfinite(numbers)) + 0.0  # inf is missing; -0.0 is 0.0
            table[column] = numbers.astype(str).fillna("")  # shortest exact form, like repr
        else:
            table[column] = table[column].astype(str).str.strip()
    table = table.sort_values(list(keys), kind="stable")
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def inputs_hash(inputs: pd.DataFrame) -> str:
    """sha256 of the canonical CSV of `agency, period, input, value` rows."""
    _require(inputs, INPUT_COLUMNS, "inputs")
    return hashlib.sha256(canonical_csv(inputs, INPUT_COLUMNS, "value")).hexdigest()


def agencies_hash(agencies: pd.DataFrame) -> str:
    """sha256 of the canonical CSV of `agency, kind` rows (kinds change which nodes apply)."""
    _require(agencies, AGENCY_COLUMNS, "agencies")
    return hashlib.sha256(canonical_csv(agencies, AGENCY_COLUMNS, None)).hexdigest()


def run_record(
    methodology: Methodology,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    *,
    code_version: str,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> RunRecord:
    """The record of scoring `inputs` under `methodology`; `code_version` comes from the caller."""
    return RunRecord(
        methodology=methodology.name,
        methodology_version=methodology.version,
        methodology_hash=methodology.hash,
        inputs_hash=inputs_hash(inputs),
        agencies_hash=agencies_hash(agencies),
        min_sample=min_sample,
        code_version=code_version,
    )
