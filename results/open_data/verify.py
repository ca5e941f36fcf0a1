"""Recompute every published score of a package from the package alone: each run's methodology
file (checked against its hash), its inputs and kinds, and the scoring code; then compare every
published row. What a data user runs as `qanagat results verify PACKAGE`.

Withheld inputs (a sample below the minimum cell and the shares measured on it) get a stand-in
below the minimum: the run's minimum sample is at least the minimum cell, so those rows are
`insufficient_sample` whatever the hidden value, and the published rows hide the same `n`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from results.open_data.package import DESCRIPTOR, SCORE_FIELDS
from results.open_data.suppression import public_scores
from scoring import Methodology, MethodologyError, parse_methodology, score
from scoring.model import UNIT_RANGE
from scoring.runs import agencies_hash, inputs_hash

TOLERANCE = 1e-9  # values are stored rounded to 6 decimals: any real difference is far larger


class PackageError(Exception):
    """Not a package this command can read (the message says what is wrong)."""


@dataclass
class AgencyCheck:
    agency: str
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class RunCheck:
    run: int
    methodology: str
    version: str
    period: str
    problem: str | None = None  # the run could not be recomputed at all
    agencies: list[AgencyCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None and all(check.ok for check in self.agencies)


class _Files:
    """A package's files, from a folder or a zip (with or without one top folder)."""

    def __init__(self, path: Path) -> None:
        self._read: Callable[[str], bytes]
        if path.is_dir():
            base = path if (path / DESCRIPTOR).exists() else _only_child(path)
            self._read = lambda name: (base / name).read_bytes()
        elif zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            names = archive.namelist()
            found = [n for n in names if n.rsplit("/", 1)[-1] == DESCRIPTOR]
            if not found:
                raise PackageError(f"{path}: no {DESCRIPTOR} in the archive")
            prefix = min(found, key=len)[: -len(DESCRIPTOR)]
            self._read = lambda name: archive.read(prefix + name)
        else:
            raise PackageError(f"{path}: neither a folder nor a zip archive")

    def read(self, name: str) -> bytes:
        try:
            return self._read(name)
        except (OSError, KeyError) as error:
            raise PackageError(f"{name}: missing from the package") from error
        except zipfile.BadZipFile as error:
            raise PackageError(f"{name}: damaged in the archive ({error})") from error

    def table(self, name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
        """The rows of `name`.csv, each with at least `columns` (as text)."""
        try:
            text = self.read(f"{name}.csv").decode("utf-8")
            rows = list(csv.DictReader(io.StringIO(text)))
        except (UnicodeDecodeError, csv.Error) as error:
            raise PackageError(f"{name}.csv: not UTF-8 CSV ({error})") from None
        for number, row in enumerate(rows, start=2):
            absent = [column for column in columns if not isinstance(row.get(column), str)]
            if absent:
                raise PackageError(f"{name}.csv:{number}: no {', '.join(absent)}")
        return rows


def _only_child(path: Path) -> Path:
    children = [child for child in path.iterdir() if (child / DESCRIPTOR).exists()]
    if len(children) != 1:
        raise PackageError(f"{path}: no {DESCRIPTOR} in the folder")
    return children[0]


def _number(text: str) -> float:
    return float(text) if text != "" else math.nan


def _methodology(raw: bytes, file: str) -> Methodology:
    try:
        return parse_methodology(raw, file)
    except MethodologyError:  # a past version, read by the rules of its time
        return parse_methodology(raw, file, archived=True)


def verify_package(path: Path) -> list[RunCheck]:
    """Recompute every run of the package at `path` and compare; one check per run."""
    files = _Files(path)
    try:
        descriptor = json.loads(files.read(DESCRIPTOR))
        minimum = int(descriptor["qanagat"]["disclosure_rule"]["minimum_cell"])
    except (ValueError, KeyError, TypeError) as error:
        raise PackageError(f"{DESCRIPTOR}: not a Qanagat package ({error})") from None
    scores = files.table("scores", ("run", *SCORE_FIELDS))
    inputs = files.table("score_inputs", ("run", "agency", "input", "value", "suppressed"))
    kinds = files.table("score_agencies", ("run", "agency", "kind"))
    runs = files.table("score_runs", RUN_FIELDS)
    checks = []
    for run in runs:
        try:
            checks.append(_check_run(files, run, scores, inputs, kinds, minimum))
        except (ValueError, KeyError, TypeError, MethodologyError, UnicodeDecodeError) as error:
            check = RunCheck(int(run["run"]) if run["run"].isdigit() else 0, run["methodology"],
                             run["methodology_version"], run["period"])  # fmt: skip
            check.problem = f"cannot be recomputed from the package: {error}"
            checks.append(check)
    return checks


RUN_FIELDS = (
    "run",
    "methodology",
    "methodology_version",
    "methodology_hash",
    "methodology_file",
    "period",
    "min_sample",
    "inputs_hash",
    "agencies_hash",
)


def _of(rows: list[dict[str, str]], run: str) -> Iterator[dict[str, str]]:
    return (row for row in rows if row["run"] == run)


def _check_run(
    files: _Files,
    run: Mapping[str, str],
    scores: list[dict[str, str]],
    inputs: list[dict[str, str]],
    kinds: list[dict[str, str]],
    minimum: int,
) -> RunCheck:
    check = RunCheck(int(run["run"]), run["methodology"], run["methodology_version"], run["period"])
    if not run["methodology_file"]:
        check.problem = "the package has no methodology file for this run"
        return check
    raw = files.read(run["methodology_file"])
    if hashlib.sha256(raw).hexdigest() != run["methodology_hash"]:
        check.problem = f"{run['methodology_file']} does not hash to the run's methodology_hash"
        return check
    methodology = _methodology(raw, run["methodology_file"])
    min_sample = int(run["min_sample"])
    if min_sample < minimum:
        check.problem = f"min_sample {min_sample} is below the minimum cell {minimum}"
        return check
    frame, withheld = _inputs(methodology, list(_of(inputs, run["run"])), run["period"], minimum)
    agencies = pd.DataFrame(
        [(row["agency"], row["kind"]) for row in _of(kinds, run["run"])], columns=["agency", "kind"]
    )
    if agencies_hash(agencies) != run["agencies_hash"]:
        check.notes.append("score_agencies do not hash to the run's agencies_hash")
    if not withheld and inputs_hash(frame) != run["inputs_hash"]:
        check.notes.append("score_inputs do not hash to the run's inputs_hash")
    recomputed = public_scores(score(methodology, frame, agencies, min_sample=min_sample), minimum)
    published = {(row["agency"], row["node"]): row for row in _of(scores, run["run"])}
    by_agency: dict[str, AgencyCheck] = {}
    seen: set[tuple[str, str]] = set()
    for row in recomputed.loc[:, list(SCORE_FIELDS)].astype(object).itertuples(index=False):
        values = dict(zip(SCORE_FIELDS, row, strict=True))
        key = (str(values["agency"]), str(values["node"]))
        seen.add(key)
        agency = by_agency.setdefault(key[0], AgencyCheck(key[0]))
        shown = published.get(key)
        if shown is None:
            agency.mismatches.append(f"{key[1]}: not in the published scores")
            continue
        agency.mismatches += _differences(key[1], shown, values)
    for agency_code, node in sorted(set(published) - seen):
        by_agency.setdefault(agency_code, AgencyCheck(agency_code)).mismatches.append(
            f"{node}: published, but the methodology gives no such row"
        )
    check.agencies = [by_agency[name] for name in sorted(by_agency)]
    return check


def _inputs(
    methodology: Methodology, rows: list[dict[str, str]], period: str, minimum: int
) -> tuple[pd.DataFrame, int]:
    """The run's inputs, stand-ins in the withheld places; and how many were withheld."""
    withheld = 0
    values = []
    for row in rows:
        value = _number(row["value"])
        if row["suppressed"] == "true":
            withheld += 1
            spec = methodology.inputs.get(row["input"])
            samples = {s.sample for s in methodology.inputs.values() if s.sample}
            if row["input"] in samples:
                value = float(minimum - 1)  # any sample below the run's minimum sample
            elif spec is not None:
                low, high = UNIT_RANGE[spec.unit]
                value = (low + high) / 2 if math.isfinite(high) else low
        values.append((row["agency"], period, row["input"], value))
    frame = pd.DataFrame(values, columns=["agency", "period", "input", "value"])
    frame["value"] = frame["value"].astype("float64")
    return frame, withheld


def _same_number(text: str, value: Any) -> bool:
    expected = _number(text)
    actual = math.nan if value is None or value is pd.NA else float(value)
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return bool(np.isclose(expected, actual, rtol=0, atol=TOLERANCE))


def _differences(node: str, shown: Mapping[str, str], values: Mapping[str, Any]) -> list[str]:
    found = []
    for column in ("value", "ci_low", "ci_high", "n"):
        if not _same_number(shown[column], values[column]):
            actual = values[column]
            actual_text = "" if actual is None or actual is pd.NA or actual != actual else actual
            published = shown[column] or "-"
            found.append(f"{node} {column}: published {published}, recomputed {actual_text or '-'}")
    for column in ("grade", "status", "reason", "missing_inputs"):
        actual = "" if values[column] in (None, "nan") else str(values[column])
        if shown[column] != actual:
            found.append(
                f"{node} {column}: published {shown[column] or '-'}, recomputed {actual or '-'}"
            )
    return found
