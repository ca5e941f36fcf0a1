"""The `relevant` language: parsing, evaluation, and that nothing but the grammar gets through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.expressions import (
    BoolOp,
    Compare,
    ExpressionError,
    Literal,
    Node,
    Not,
    Ref,
    evaluate,
    parse,
    references,
)


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("${overall} <= 2", {"overall": 2}, True),
        ("${overall} <= 2", {"overall": 3}, False),
        ("${overall} <= 2", {}, False),  # unanswered: comparisons are false
        ("${overall} = ''", {}, True),
        ("${overall} != 5", {"overall": None}, True),
        ("selected(${reasons}, 'queue')", {"reasons": ["queue", "rudeness"]}, True),
        ("selected(${reasons}, 'queue')", {"reasons": ["rudeness"]}, False),
        ("selected(${reasons}, 'queue')", {}, False),
        ("count-selected(${reasons}) >= 2", {"reasons": ["a", "b"]}, True),
        ("${refused} = 'yes'", {"refused": True}, True),
        ("${refused} = true", {"refused": True}, True),
        ("${refused} = 'no'", {"refused": False}, True),
        ("not(${refused} = 'yes')", {"refused": False}, True),
        ("not ${a} = 1 and ${b} = 2", {"a": 2, "b": 2}, True),
        ("${a} = 1 or ${b} = 2 and ${c} = 3", {"a": 1, "b": 0, "c": 0}, True),
        ("(${a} = 1 or ${b} = 2) and ${c} = 3", {"a": 1, "b": 0, "c": 0}, False),
        ("${nps} < 7", {"nps": 6}, True),
        ("${choice} = 'egov'", {"choice": "egov"}, True),
        ("${x} == 1.5", {"x": 1.5}, True),
        ("${overall} = '5'", {"overall": 5}, True),
        ("${a}", {"a": "yes"}, True),
        ("${a}", {"a": "no"}, False),
    ],
)
def test_expressions_evaluate_like_xlsform(source: str, answers: dict, expected: bool) -> None:
    assert evaluate(parse(source), answers) is expected


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("", 1),
        ("${overall} <=", 14),
        ("${overall} <= 2 2", 17),
        ("__import__('os')", 1),
        ("${a} = 1 = 2", 10),
        ("selected('x', 'y')", 1),
        ("selected(${a})", 1),
        ("${a} = 'unterminated", 8),
        ("${a} + 1", 6),
        ("${bad name} = 1", 1),
        ("(${a} = 1", 10),
    ],
)
def test_bad_expressions_name_the_column(source: str, column: int) -> None:
    with pytest.raises(ExpressionError) as error:
        parse(source)
    assert error.value.column + 1 == column


names = st.sampled_from(["a", "b", "c"])
literals = st.one_of(
    st.integers(min_value=-5, max_value=15).map(Literal),
    st.sampled_from(["yes", "no", "x", ""]).map(Literal),
)
leaves: st.SearchStrategy[Node] = st.builds(
    Compare,
    st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
    names.map(Ref),
    literals,
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        children.map(Not),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), st.tuples(children, children)),
    ),
    max_leaves=8,
)


def render(node: Node) -> str:
    if isinstance(node, Compare):
        return f"{render(node.left)} {node.op} {render(node.right)}"
    if isinstance(node, Ref):
        return "${" + node.name + "}"
    if isinstance(node, Literal):
        return f"'{node.value}'" if isinstance(node.value, str) else str(node.value)
    if isinstance(node, Not):
        return f"not({render(node.operand)})"
    assert isinstance(node, BoolOp)
    return "(" + f" {node.op} ".join(render(child) for child in node.operands) + ")"


answer_values = st.one_of(
    st.none(), st.integers(min_value=0, max_value=10), st.booleans(), st.sampled_from(["x", "yes"])
)


@given(trees, st.fixed_dictionaries({"a": answer_values, "b": answer_values, "c": answer_values}))
def test_rendered_expressions_parse_back_to_the_same_meaning(tree: Node, answers: dict) -> None:
    parsed = parse(render(tree))
    assert evaluate(parsed, answers) == evaluate(tree, answers)
    assert set(references(parsed)) == set(references(tree))


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_expression_error(source: str) -> None:
    try:
        node = parse(source)
    except ExpressionError:
        return
    evaluate(node, {})  # whatever parses evaluates without crashing on empty answers
