"""Survey files are checked like code: a bad one is refused with `file:line: what is wrong`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.engine.definition import SurveyError, json_schema, load_survey_dir, parse_survey
from qanagat.cli import main

ROOT = Path(__file__).parent.parent
HEADER = """\
survey: s
version: "1"
title: {kk: т, ru: т, en: t}
thanks: {kk: р, ru: с, en: t}
questions:
"""


def q(name: str, kind: str = "rating", extra: str = "") -> str:
    return f"  - name: {name}\n    type: {kind}\n    label: {{kk: с, ru: в, en: q}}\n{extra}"


def problems(text: str) -> list[str]:
    with pytest.raises(SurveyError) as error:
        parse_survey(text, "s.yaml")
    return [str(problem) for problem in error.value.problems]


def test_shipped_surveys_are_valid() -> None:
    assert "post_service" in load_survey_dir(ROOT / "survey_definitions")


def test_the_published_json_schema_is_current() -> None:
    published = json.loads((ROOT / "survey_definitions" / "schema.json").read_text())
    assert published == json_schema(), (
        "run: qanagat surveys schema > survey_definitions/schema.json"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (q("a", extra="    label: {kk: с, ru: в}\n"), "s.yaml:9: duplicate key 'label'"),
        (
            "  - name: a\n    type: rating\n    label: {kk: с, ru: в}\n",
            "s.yaml:8: question 'a': 'label' has no 'en' text",
        ),
        (q("a", "stars"), "s.yaml:7: question 'a': 'type' must be one of"),
        (
            q("a") + q("b", extra="    relevant: ${c} = 1\n"),
            "s.yaml:12: question 'b': relevant: ${c} is not an earlier question",
        ),
        (
            q("a", extra="    relevant: ${a} = 1\n"),
            "s.yaml:9: question 'a': relevant: refers to itself",
        ),
        (
            q("a") + q("b", extra="    relevant: ${a} <=\n"),
            "s.yaml:12: question 'b': relevant: expected a value, found the end (at column 8)",
        ),
        (
            q("a") + q("b", extra="    relevant: selected(${a}, 'x')\n"),
            "s.yaml:12: question 'b': relevant: selected() needs a select question, 'a' is not",
        ),
        (q("a", "select_one"), "s.yaml:7: question 'a': a select_one question needs 'choices'"),
        (q("a") + q("a"), "s.yaml:9: question 'a': the name 'a' is used twice"),
        (q("a", extra="    colour: red\n"), "s.yaml:9: question 'a': unknown field 'colour'"),
        (q("A b"), "s.yaml:6: question 'A b': 'name' must be lower-case letters"),
        (q("a", extra="    max_length: 5\n"), "s.yaml:9: question 'a': 'max_length' applies only"),
        (
            q("a", extra="    action: request_complaint\n"),
            "s.yaml:9: question 'a': 'action' applies",
        ),
        ("  - name: a\n   type: : :\n", "s.yaml:7: YAML syntax"),
    ],
)
def test_problems_name_the_line_and_the_fix(body: str, expected: str) -> None:
    found = problems(HEADER + body)
    assert any(problem.startswith(expected) for problem in found), found


def test_a_file_without_questions_is_refused() -> None:
    assert any("'questions' is missing" in p for p in problems(HEADER.replace("questions:\n", "")))


def test_choice_in_selected_must_exist() -> None:
    choices = "    choices:\n      - name: x\n        label: {kk: x, ru: x, en: x}\n"
    found = problems(
        HEADER + q("a", "select_one", choices) + q("b", extra="    relevant: selected(${a}, 'y')\n")
    )
    assert any("'a' has no choice 'y' (it has: x)" in p for p in found), found


def test_cli_validate_exits_1_printing_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + q("a", "stars"), encoding="utf-8")
    good = ROOT / "survey_definitions" / "post_service.yaml"
    result = CliRunner().invoke(main, ["surveys", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:7: question 'a': 'type' must be one of" in result.output
    assert "post_service.yaml: ok" in result.output


def test_cli_validate_exits_0_on_good_files() -> None:
    result = CliRunner().invoke(main, ["surveys", "validate", str(ROOT / "survey_definitions")])
    assert result.exit_code == 0, result.output


def test_a_malformed_survey_keeps_the_server_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "post_service.yaml").write_text(HEADER + q("a", "stars"), encoding="utf-8")
    monkeypatch.setenv("QANAGAT_SURVEY_DIR", str(tmp_path))
    monkeypatch.setenv("QANAGAT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0
    assert "post_service.yaml:7: question 'a'" in result.output
    assert "does not start" in result.output
