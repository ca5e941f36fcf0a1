"""An indicators file's problems in the reader's language: every problem the file checker can
find has its text in kk, ru and en with the same placeholders; a bad file's problems read in
Kazakh, Russian or English with the file's own values filled in; the command line keeps its
English words."""

from __future__ import annotations

import csv
import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin.indicator_uploads import input_rules
from admin.web import words
from admin.web.pages.imports import problem_text
from core.indicator_file import PROBLEM_TEXTS, FileProblem, IndicatorFileError, parse_indicator_file

RULES = input_rules()
KNOWN = {"MJ": "central", "AST": "local"}
HEADER = ["agency", "period", "input", "value", "kind"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def problems_of(rows: list[list[str]]) -> list[FileProblem]:
    with pytest.raises(IndicatorFileError) as caught:
        parse_indicator_file(_csv(rows), "bad.csv", RULES, KNOWN)
    return caught.value.problems


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(PROBLEM_TEXTS))
def test_every_problem_has_its_text_in_each_language_with_the_same_placeholders(
    key: str,
) -> None:
    entry = words.WORDS.entries.get(f"import_problem_{key}")
    assert entry is not None, f"messages.yaml lacks import_problem_{key}"
    wanted = placeholders(PROBLEM_TEXTS[key])
    for lang in words.LANGUAGES:
        assert placeholders(entry[lang]) == wanted, (key, lang)


BAD_ROWS = [
    HEADER,
    ["MJ", "2025", "services_deliverd", "10", ""],  # 2: a misspelt input
    ["MJ", "2025", "internal_control_share", "85", ""],  # 3: a share over 1
    ["MJ", "25", "it_use", "50", ""],  # 4: not a period
    ["ZZZ", "2025", "it_use", "50", ""],  # 5: an agency nobody knows, without a kind
    ["AST", "2025", "it_use", "50", "central"],  # 6: contradicts the database
]


def test_a_bad_files_problems_read_in_kazakh_russian_and_english() -> None:
    problems = problems_of(BAD_ROWS)
    assert [p.line for p in problems] == [2, 3, 4, 5, 6]
    kk = [problem_text(p, "kk") for p in problems]
    ru = [problem_text(p, "ru") for p in problems]
    en = [problem_text(p, "en") for p in problems]
    assert ru == [
        "Неизвестный показатель «services_deliverd». Возможно, «services_delivered»? "
        "(список — в docs/inputs.md)",
        "internal_control_share должно быть числом от 0 до 1, а не 85.",
        "«25» — не период: укажите год (2025), квартал (2025-Q1) или месяц (2025-03).",
        "Органа «ZZZ» нет в базе: укажите его тип (central или local) в столбце kind хотя бы "
        "в одной его строке.",
        "Орган «AST» в базе — local, а в файле — central.",
    ]
    assert kk[1] == "internal_control_share 0-ден 1-ге дейінгі сан болуы керек, ал мұнда 85."
    assert kk[2].startswith("«25» кезең емес")
    assert en[1] == "internal_control_share must be a number from 0 to 1, not 85."
    assert len(set(kk) & set(ru)) == 0 and len(set(ru) & set(en)) == 0


def test_the_command_line_keeps_its_english_words() -> None:
    problems = problems_of(BAD_ROWS)
    assert str(problems[1]) == (
        "bad.csv:3: internal_control_share must be a number from 0 to 1, not 85"
    )
    assert str(problems[2]).startswith("bad.csv:4: '25' is not a period")


def test_a_problem_without_a_key_keeps_its_message() -> None:
    appeal = FileProblem("r.csv", 4, "agency 'MJJ' is not known")
    assert problem_text(appeal, "kk") == "agency 'MJJ' is not known"


def test_an_unreadable_file_is_explained_in_the_readers_language() -> None:
    with pytest.raises(IndicatorFileError) as caught:
        parse_indicator_file(
            "agency;period\n".encode("cp1251") + "Алматы".encode("cp1251"), "win.csv", RULES, KNOWN
        )
    [problem] = caught.value.problems
    assert problem.key == "not_utf8"
    assert problem_text(problem, "ru").startswith("Файл не в кодировке UTF-8")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=6), max_size=8),
    st.sampled_from(words.LANGUAGES),
)
def test_any_file_problems_are_said_in_any_language_with_every_value_filled(
    cells: list[list[str]], lang: str
) -> None:
    try:
        parse_indicator_file(_csv([HEADER, *cells]), "f.csv", RULES, KNOWN)
    except IndicatorFileError as error:
        for problem in error.problems:
            assert problem.key in PROBLEM_TEXTS
            text = problem_text(problem, lang)
            template = words.say(f"import_problem_{problem.key}", lang)
            assert text and (text != template or not placeholders(template))
