"""Survey definitions: XLSForm-style YAML, validated into typed objects.

Every problem is reported as `file:line: what is wrong`, and a file with any problem is refused.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.engine import expressions
from lined_yaml import Path_, YamlSyntaxError, line_of, load_with_lines

LANGUAGES = ("kk", "ru", "en")
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class QuestionType(enum.StrEnum):
    RATING = "rating"  # 1-5, shown as stars
    YES_NO = "yes_no"
    SELECT_ONE = "select_one"
    SELECT_MULTIPLE = "select_multiple"
    NPS = "nps"  # 0-10
    TEXT = "text"


class QuestionAction(enum.StrEnum):
    REQUEST_COMPLAINT = "request_complaint"


def _check_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise ValueError(f"has no {', '.join(repr(lang) for lang in missing)} text")
    extra = sorted(set(value) - set(LANGUAGES))
    if extra:
        raise ValueError(f"unknown language {extra[0]!r}; use kk, ru and en")
    return {lang: value[lang].strip() for lang in LANGUAGES}


Text = Annotated[dict[str, str], Field(description="The same text in kk, ru and en")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Choice(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    label: Text

    _languages = field_validator("label")(_check_languages)

    def text(self, lang: str) -> str:
        return self.label.get(lang) or self.label["ru"]


class Question(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    type: QuestionType
    label: Text
    hint: Text | None = None
    required: bool = True
    relevant: str | None = None
    choices: tuple[Choice, ...] = ()
    metric: str | None = Field(default=None, pattern=NAME_PATTERN)
    max_length: int | None = Field(default=None, ge=1, le=4000)
    action: QuestionAction | None = None

    _languages = field_validator("label", "hint")(
        lambda value: None if value is None else _check_languages(value)
    )

    def text(self, lang: str) -> str:
        return self.label.get(lang) or self.label["ru"]

    def hint_text(self, lang: str) -> str | None:
        return None if self.hint is None else (self.hint.get(lang) or self.hint["ru"])

    def choice(self, name: str) -> Choice | None:
        return next((choice for choice in self.choices if choice.name == name), None)

    @property
    def text_limit(self) -> int:
        return self.max_length or 1000


class SurveyFile(_Strict):
    survey: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1, max_length=32)
    title: Text
    intro: Text | None = None
    thanks: Text
    invitation_ttl_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 60,
        description="How long an invitation link to this survey works, in hours (default 72)",
    )
    questions: tuple[Question, ...] = Field(min_length=1)

    _languages = field_validator("title", "thanks")(_check_languages)
    _intro = field_validator("intro")(
        lambda value: None if value is None else _check_languages(value)
    )


@dataclass(frozen=True)
class SurveyDefinition:
    """A validated survey with its skip-logic expressions parsed once."""

    id: str
    version: str
    title: dict[str, str]
    intro: dict[str, str] | None
    thanks: dict[str, str]
    invitation_ttl_hours: int
    questions: tuple[Question, ...]
    conditions: dict[str, expressions.Node]
    source: str
    digest: str

    def question(self, name: str) -> Question | None:
        return next((question for question in self.questions if question.name == name), None)

    def index_of(self, name: str) -> int:
        return next(i for i, question in enumerate(self.questions) if question.name == name)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SurveyError(ValueError):
    """A survey file that must not be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def _describe(error: dict[str, Any], data: Any) -> str:
    loc = error["loc"]
    where = _where(loc, data)
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where}: '{loc[-1]}' is missing"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field '{loc[-1]}'"
    if error["type"] == "enum":
        allowed = ", ".join(member.value for member in QuestionType)
        if loc[-1] == "action":
            allowed = ", ".join(member.value for member in QuestionAction)
        return f"{where}: '{loc[-1]}' must be one of: {allowed}"
    if error["type"] == "string_pattern_mismatch":
        return (
            f"{where}: '{loc[-1]}' must be lower-case letters, digits and _ "
            f"(start with a letter, at most 32)"
        )
    return f"{where}: '{loc[-1]}' {message[0].lower()}{message[1:]}"


def _where(loc: tuple[Any, ...], data: Any) -> str:
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        try:
            return f"question '{data['questions'][loc[1]]['name']}'"
        except (KeyError, IndexError, TypeError):
            return f"question #{loc[1] + 1}"
    return "survey"


def parse_survey(text: str, file: str = "<survey>") -> SurveyDefinition:
    """Validate a survey's YAML text; raises SurveyError listing every problem with its line."""
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as error:
        raise SurveyError([Problem(file, error.line, str(error))]) from error
    if not isinstance(data, dict):
        raise SurveyError([Problem(file, 1, "a survey file must be a mapping with 'questions'")])
    try:
        survey = SurveyFile.model_validate(data)
    except ValidationError as error:
        problems = [
            Problem(file, line_of(_path(item["loc"]), lines), _describe(dict(item), data))
            for item in error.errors()
        ]
        raise SurveyError(problems) from error
    conditions, problems = _check_logic(survey, lines, file)
    if problems:
        raise SurveyError(problems)
    return SurveyDefinition(
        id=survey.survey,
        version=survey.version,
        title=survey.title,
        intro=survey.intro,
        thanks=survey.thanks,
        invitation_ttl_hours=survey.invitation_ttl_hours,
        questions=survey.questions,
        conditions=conditions,
        source=file,
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )


def _path(loc: Iterable[Any]) -> Path_:
    return tuple(part for part in loc if isinstance(part, str | int))


def _check_logic(
    survey: SurveyFile, lines: dict[Path_, int], file: str
) -> tuple[dict[str, expressions.Node], list[Problem]]:
    problems: list[Problem] = []
    conditions: dict[str, expressions.Node] = {}
    seen: dict[str, Question] = {}

    def problem(index: int, key: str, message: str) -> None:
        line = line_of(("questions", index, key), lines)
        problems.append(
            Problem(file, line, f"question '{survey.questions[index].name}': {message}")
        )

    for index, question in enumerate(survey.questions):
        if question.name in seen:
            problem(index, "name", f"the name '{question.name}' is used twice")
        selectable = question.type in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE)
        if selectable and not question.choices:
            problem(index, "type", f"a {question.type.value} question needs 'choices'")
        if not selectable and question.choices:
            problem(index, "choices", f"a {question.type.value} question takes no 'choices'")
        names = [choice.name for choice in question.choices]
        for duplicate in sorted({name for name in names if names.count(name) > 1}):
            problem(index, "choices", f"choice '{duplicate}' is listed twice")
        if question.max_length is not None and question.type is not QuestionType.TEXT:
            problem(index, "max_length", "'max_length' applies only to text questions")
        if question.action is not None and question.type is not QuestionType.YES_NO:
            problem(index, "action", "'action' applies only to yes_no questions")
        if question.relevant is not None:
            try:
                node = expressions.parse(question.relevant)
            except expressions.ExpressionError as error:
                problem(index, "relevant", f"relevant: {error}")
            else:
                problems.extend(_check_references(node, question, index, seen, lines, file))
                conditions[question.name] = node
        seen[question.name] = question
    return conditions, problems


def _check_references(
    node: expressions.Node,
    question: Question,
    index: int,
    earlier: dict[str, Question],
    lines: dict[Path_, int],
    file: str,
) -> list[Problem]:
    line = line_of(("questions", index, "relevant"), lines)
    prefix = f"question '{question.name}': relevant:"
    problems = []
    for name in expressions.references(node):
        if name == question.name:
            problems.append(Problem(file, line, f"{prefix} refers to itself"))
        elif name not in earlier:
            problems.append(Problem(file, line, f"{prefix} ${{{name}}} is not an earlier question"))
    for name, value in expressions.selections(node):
        target = earlier.get(name)
        if target is None:
            continue
        if target.type not in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
            problems.append(
                Problem(file, line, f"{prefix} selected() needs a select question, '{name}' is not")
            )
        elif target.choice(value) is None:
            known = ", ".join(choice.name for choice in target.choices)
            problems.append(
                Problem(file, line, f"{prefix} '{name}' has no choice '{value}' (it has: {known})")
            )
    return problems


def load_survey(path: Path) -> SurveyDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SurveyError([Problem(str(path), 1, f"cannot read the file: {error}")]) from error
    return parse_survey(text, str(path))


def load_survey_dir(directory: Path) -> dict[str, SurveyDefinition]:
    """All `*.yaml` surveys of a folder, keyed by survey id; every problem of every file at once."""
    surveys: dict[str, SurveyDefinition] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            definition = load_survey(path)
        except SurveyError as error:
            problems.extend(error.problems)
            continue
        if definition.id in surveys:
            problems.append(
                Problem(
                    str(path),
                    1,
                    f"survey id '{definition.id}' is already used by "
                    f"{surveys[definition.id].source}",
                )
            )
        surveys[definition.id] = definition
    if problems:
        raise SurveyError(problems)
    return surveys


def json_schema() -> dict[str, Any]:
    """The survey file's JSON Schema (kept in survey_definitions/schema.json for editors)."""
    return SurveyFile.model_json_schema()
