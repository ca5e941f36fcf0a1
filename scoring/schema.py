"""The shape of a methodology file, as pydantic models (structure only; meaning is in checks.py)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

LANGUAGES = ("kk", "ru", "en")
KIND_NAMES = ("central", "local")
# What a reader may be told a number rests on: the research report (by section, table or
# figure), the legal texts, this project's own proposal, or an assumption with its reason.
SOURCE = re.compile(
    r"research report, 2020, (?:section|table|figure) \d|decree No 954|"
    r"this project's proposal: \S|\bassumption: \S"
)
INTERNAL = re.compile(r"DOMAIN\.md|§|\bissue \d|\.ya?ml\b|\bline \d", re.IGNORECASE)
SOURCE_HINT = (
    "must cite the research ('research report, 2020, section 2.5'), the decree ('decree No 954'), "
    "say 'this project's proposal: why' or 'assumption: why'"
)


def check_languages(value: dict[str, str]) -> dict[str, str]:
    """A label in all three languages, nothing else."""
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise ValueError(f"has no {', '.join(repr(lang) for lang in missing)} text")
    extra = sorted(set(value) - set(LANGUAGES))
    if extra:
        raise ValueError(f"has an unknown language {extra[0]!r}; use kk, ru and en")
    return {lang: str(value[lang]).strip() for lang in LANGUAGES}


def check_explain(value: dict[str, str] | None) -> dict[str, str] | None:
    """An optional plain-language explanation: all three languages when given."""
    return None if value is None else check_languages(value)


LEGACY_SOURCE = re.compile(r"DOMAIN\.md §\d|issue \d+|\bassumption\b")


def check_source(value: str, info: ValidationInfo | None = None) -> str:
    """A source cites the research or the decree in a reader's words, or admits to being this
    project's proposal or an assumption; it never points at the project's own papers.

    Files of past versions (kept to recompute stored runs, validated with the context
    `{"archived": True}`) cited the project's domain notes; they are read as they were."""
    if info is not None and (info.context or {}).get("archived"):
        if not LEGACY_SOURCE.search(value):
            raise ValueError(SOURCE_HINT)
        return value
    internal = INTERNAL.search(value)
    if internal:
        raise ValueError(
            f"names {internal.group(0)!r}, which readers cannot look up; {SOURCE_HINT[5:]}"
        )
    if not SOURCE.search(value):
        raise ValueError(SOURCE_HINT)
    return " ".join(value.split())


def source_field(value: str, info: ValidationInfo) -> str:
    """check_source as a pydantic field validator (with the validation context)."""
    return check_source(value, info)


def check_weight(value: Any) -> Any:
    """A number, an arithmetic string (`0.7/3`), or one of those per agency kind."""
    plain = (int, float, str)
    if isinstance(value, plain) and not isinstance(value, bool):
        return value
    if isinstance(value, dict) and value:
        unknown = sorted(set(value) - set(KIND_NAMES))
        if unknown:
            raise ValueError(f"names an unknown kind {unknown[0]!r}; use central and local")
        if all(isinstance(v, plain) and not isinstance(v, bool) for v in value.values()):
            return value
    raise ValueError("must be a number, a fraction like 0.7/3, or {central: …, local: …}")


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )


class GradeBandSpec(_Strict):
    key: str
    label: dict[str, str]
    from_: float | None = Field(default=None, alias="from")
    below: float | None = None

    _languages = field_validator("label")(check_languages)


class GradesSpec(_Strict):
    source: str
    bands: list[GradeBandSpec] = Field(min_length=1)

    _source = field_validator("source")(source_field)


class InputSpecModel(_Strict):
    unit: Literal["count", "share", "points"]
    sample: str | None = None
    # a share that may also arrive as an official figure without its sample (public
    # monitoring's satisfaction level): then it is used as such, with no minimum sample
    official_without_sample: bool = False
    # false: a figure the methodology names and shows but does not score (a second source a
    # documented rule keeps out, so nothing is counted twice); no formula may read it
    scored: bool = True
    about: str = ""


class ConstantSpec(_Strict):
    value: float
    source: str
    about: str = ""
    range: tuple[float, float] | None = None  # plausible values, for the sensitivity of ranks

    _source = field_validator("source")(source_field)


class StepSpec(_Strict):
    from_: float = Field(alias="from")
    points: float


class TableSpec(_Strict):
    steps: list[StepSpec] = Field(min_length=1)
    otherwise: float
    source: str
    about: str = ""

    _source = field_validator("source")(source_field)


class NodeSpec(_Strict):
    label: dict[str, str]
    about: str = ""
    explain: dict[str, str] | None = None  # for readers of the admin's methodology page
    weight: Any = None
    formula: str | None = None
    clamp: tuple[float, float] | None = None
    applies_to: Literal["central", "local", "both"] = "both"
    graded: bool = False
    source: str | dict[str, str] | None = None
    # the node is left out (not applicable) for a body where any of these inputs is 0:
    # no data sets planned, no services delivered, no complaints reviewed
    left_out_when_zero: list[str] = Field(default_factory=list)
    weight_range: tuple[float, float] | None = None  # plausible weights, for sensitivity
    children: dict[str, NodeSpec] = Field(default_factory=dict)

    _languages = field_validator("label")(check_languages)
    _explain = field_validator("explain")(check_explain)
    _weight = field_validator("weight")(
        lambda value: None if value is None else check_weight(value)
    )

    @field_validator("source")
    @classmethod
    def _sources(
        cls, value: str | dict[str, str] | None, info: ValidationInfo
    ) -> str | dict[str, str] | None:
        if isinstance(value, str):
            return check_source(value, info)
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"weight", "formula", "clamp"})
            if unknown:
                raise ValueError(f"names {unknown[0]!r}; give sources for weight, formula, clamp")
            return {key: check_source(text, info) for key, text in value.items()}
        return value


class MethodologyFile(_Strict):
    methodology: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,47}$")
    version: str = Field(min_length=1, max_length=32)
    title: dict[str, str]
    about: str = ""
    explain: dict[str, str] | None = None
    grades: GradesSpec
    inputs: dict[str, InputSpecModel] = Field(min_length=1)
    constants: dict[str, ConstantSpec] = Field(default_factory=dict)
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    tree: dict[str, NodeSpec]

    _languages = field_validator("title")(check_languages)
    _explain = field_validator("explain")(check_explain)

    @field_validator("tree")
    @classmethod
    def _one_root(cls, value: dict[str, NodeSpec]) -> dict[str, NodeSpec]:
        if len(value) != 1:
            raise ValueError(f"has {len(value)} root nodes; give it exactly one (usually 'total')")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
