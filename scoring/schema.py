"""The shape of a methodology file, as pydantic models (structure only; meaning is in checks.py)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGUAGES = ("kk", "ru", "en")
KIND_NAMES = ("central", "local")
SOURCE = re.compile(r"DOMAIN\.md §\d|issue \d+|\bassumption\b")
SOURCE_HINT = (
    "must cite a paragraph of DOMAIN.md ('DOMAIN.md §2'), an issue ('issue 4 item 3') "
    "or say 'assumption: why'"
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


def check_source(value: str) -> str:
    """A source must cite DOMAIN.md, an issue, or admit to being an assumption."""
    if not SOURCE.search(value):
        raise ValueError(SOURCE_HINT)
    return value


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

    _source = field_validator("source")(check_source)


class InputSpecModel(_Strict):
    unit: Literal["count", "share", "points"]
    sample: str | None = None
    about: str = ""


class ConstantSpec(_Strict):
    value: float
    source: str
    about: str = ""

    _source = field_validator("source")(check_source)


class StepSpec(_Strict):
    from_: float = Field(alias="from")
    points: float


class TableSpec(_Strict):
    steps: list[StepSpec] = Field(min_length=1)
    otherwise: float
    source: str
    about: str = ""

    _source = field_validator("source")(check_source)


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
    children: dict[str, NodeSpec] = Field(default_factory=dict)

    _languages = field_validator("label")(check_languages)
    _explain = field_validator("explain")(check_explain)
    _weight = field_validator("weight")(
        lambda value: None if value is None else check_weight(value)
    )

    @field_validator("source")
    @classmethod
    def _sources(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, str):
            return check_source(value)
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"weight", "formula", "clamp"})
            if unknown:
                raise ValueError(f"names {unknown[0]!r}; give sources for weight, formula, clamp")
            for text in value.values():
                check_source(text)
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
