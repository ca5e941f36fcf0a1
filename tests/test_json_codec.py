"""The Bot API's JSON: the fast path reads and writes what the standard library does, and the
standard library's answer stands wherever the fast path refuses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram import json_codec

# What arrives in an update and goes out in a card: text (any code point, lone surrogates
# included), integers of any size, finite floats (JSON has no others), booleans, null, lists
# and objects of them.
finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers() | finite | st.text()
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(documents)
def test_what_it_writes_reads_back_as_the_standard_library_reads_it(value: Any) -> None:
    written = json_codec.dumps(value)
    assert json.loads(written) == value
    assert json_codec.loads(written) == value


@given(documents)
def test_it_reads_the_standard_library_s_json(value: Any) -> None:
    written = json.dumps(value)
    assert json_codec.loads(written) == value
    assert json_codec.loads(written.encode()) == value


def test_a_lone_surrogate_and_a_huge_integer_pass_through_the_fallback() -> None:
    update = '{"text": "\\ud800 half an emoji", "id": 123456789012345678901234567890}'
    assert json_codec.loads(update) == {
        "text": "\ud800 half an emoji",
        "id": 123456789012345678901234567890,
    }
    assert json.loads(json_codec.dumps({"text": "\udfff"})) == {"text": "\udfff"}


@pytest.mark.parametrize("document", ["", "{", "[1,]", "nope", "\x00"])
def test_what_is_not_json_is_refused_as_before(document: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads(document)


@pytest.mark.parametrize("number", [-9223372036854775809, 2**64, -(2**70), 10**30])
def test_integers_beyond_64_bits_keep_every_digit(number: int) -> None:
    assert json_codec.loads(json_codec.dumps({"n": number})) == {"n": number}
    assert json_codec.loads(f'{{"n": {number}}}'.encode()) == {"n": number}


@given(st.text() | st.from_regex(r"[0-9a ]{0,40}", fullmatch=True))
def test_a_long_run_of_digits_is_found_wherever_a_pattern_would_find_it(document: str) -> None:
    expected = re.search(r"[0-9]{19}", document) is not None
    assert json_codec.has_long_number(document) is expected
    assert json_codec.has_long_number(document.encode("utf-8", "surrogatepass")) is expected
