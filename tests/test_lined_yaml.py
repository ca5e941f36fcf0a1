"""The one YAML reader of methodology and survey files: numbers read the same way everywhere
(YAML 1.2: `010` is ten, `1:20` is text, `1e-4` a number) and every node knows its line."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import definition
from lined_yaml import YamlSyntaxError, line_of, load_with_lines
from scoring import methodology


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010", 10),
        ("-007", -7),
        ("1:20", "1:20"),
        ("1e-4", 1e-4),
        ("2E3", 2000.0),
        ("0x1A", "0x1A"),
        ("yes", "yes"),
        ("on", "on"),
        ("true", True),
        (".5", 0.5),
        ("1_000", "1_000"),
    ],
)
def test_scalars_are_read_as_yaml_1_2(text: str, expected: object) -> None:
    data, _ = load_with_lines(f"value: {text}\n")
    assert data["value"] == expected
    assert type(data["value"]) is type(expected)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=0, max_value=4))
def test_any_decimal_integer_with_leading_zeros_is_itself(number: int, zeros: int) -> None:
    sign = "-" if number < 0 else ""
    text = f"{sign}{'0' * zeros}{abs(number)}"
    data, _ = load_with_lines(f"n: {text}\n")
    assert data["n"] == number


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["e", "E"]))
def test_any_float_in_exponent_form_is_that_float(number: float, mark: str) -> None:
    text = f"{number:e}".replace("e", mark)
    data, _ = load_with_lines(f"x: {text}\n")
    assert data["x"] == pytest.approx(float(text))
    assert isinstance(data["x"], float)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 59), st.integers(0, 59))
def test_sexagesimal_looking_values_stay_text(hours: int, minutes: int) -> None:
    data, _ = load_with_lines(f"t: {hours}:{minutes:02d}\n")
    assert data["t"] == f"{hours}:{minutes:02d}"


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
leaves = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.booleans(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгдқңәөүұі ", min_size=1, max_size=12)
    .map(str.strip)
    .filter(lambda text: text not in ("", "true", "false", "null")),
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda x: x == x),
)
documents = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(names, children, min_size=1, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(names, documents, min_size=1, max_size=5))
def test_dumped_data_reads_back_equal_and_every_key_knows_its_line(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    loaded, lines = load_with_lines(text)
    assert loaded == data
    source = text.splitlines()
    for key in data:
        assert source[lines[(key,)] - 1].lstrip("'").startswith(key)
        assert line_of((key, "nowhere", 3), lines) == lines[(key,)]


def test_a_repeated_key_names_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_with_lines("a: 1\nb: 2\na: 3\n")
    assert caught.value.line == 3


def test_methodology_and_survey_files_are_read_by_the_same_reader() -> None:
    assert definition.load_with_lines is methodology.load_with_lines is load_with_lines
    data, _ = load_with_lines("weight: 1e-4\nmax: 010\n")
    assert data == {"weight": math.pow(10, -4), "max": 10}
