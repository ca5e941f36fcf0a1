"""`relevant` expressions: a small XLSForm-style language, parsed into a tree and evaluated safely.

    ${overall} <= 2
    selected(${reasons}, 'queue') and not(${refused} = 'yes')
    count-selected(${reasons}) >= 2 or ${nps} < 7

Values: numbers, 'strings', true/false; `${name}` is the answer to an earlier question (yes/no
answers read as 'yes'/'no', unanswered or skipped as empty). Comparisons with an empty value are
false, except `=`/`!=` against ''. Nothing here calls `eval`; unknown syntax is a `ExpressionError`
with the column where it went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union

Value = int | float | str | bool | list[str] | None


class ExpressionError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (at column {column + 1})")
        self.reason = message
        self.column = column


@dataclass(frozen=True)
class Literal:
    value: int | float | str | bool


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Union[Literal, Ref, Not, BoolOp, Compare, Call]  # noqa: UP007 (recursive alias)

FUNCTIONS = {"selected": 2, "count-selected": 1}
COMPARISONS = ("<=", ">=", "!=", "==", "=", "<", ">")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_]*)\})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<op><=|>=|!=|==|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup or ""
        if kind == "refname":
            kind = "ref"
        if kind != "space":
            text = match.group("refname") if kind == "ref" else match.group(0)
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            wanted = repr(text) if text else kind
            found = repr(token.text) if token.text else "the end"
            raise ExpressionError(f"expected {wanted}, found {found}", token.column)
        return self.take()

    def is_word(self, word: str) -> bool:
        return self.current.kind == "word" and self.current.text == word

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.or_expr()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {self.current.text!r}", self.current.column)
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def not_expr(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        if self.current.kind == "op":
            op = self.take().text
            right = self.primary()
            if self.current.kind == "op":
                raise ExpressionError("chained comparison; use 'and'", self.current.column)
            return Compare("=" if op == "==" else op, left, right)
        return left

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.take()
            number = float(token.text) if "." in token.text else int(token.text)
            return Literal(number)
        if token.kind == "string":
            self.take()
            return Literal(_unquote(token.text))
        if token.kind == "ref":
            self.take()
            return Ref(token.text)
        if token.kind == "punct" and token.text == "(":
            self.take()
            node = self.or_expr()
            self.expect("punct", ")")
            return node
        if token.kind == "word":
            if token.text in ("true", "false"):
                self.take()
                return Literal(token.text == "true")
            if token.text in FUNCTIONS:
                return self.call()
            raise ExpressionError(f"unknown name {token.text!r}", token.column)
        found = repr(token.text) if token.text else "the end"
        raise ExpressionError(f"expected a value, found {found}", token.column)

    def call(self) -> Node:
        name_token = self.take()
        self.expect("punct", "(")
        args: list[Node] = []
        if not (self.current.kind == "punct" and self.current.text == ")"):
            args.append(self.or_expr())
            while self.current.kind == "punct" and self.current.text == ",":
                self.take()
                args.append(self.or_expr())
        self.expect("punct", ")")
        arity = FUNCTIONS[name_token.text]
        if len(args) != arity:
            raise ExpressionError(
                f"{name_token.text}() takes {arity} argument(s), got {len(args)}", name_token.column
            )
        if not isinstance(args[0], Ref):
            raise ExpressionError(
                f"{name_token.text}() needs a ${{question}} first", name_token.column
            )
        return Call(name_token.text, tuple(args))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(source: str) -> Node:
    """Parse an expression; raises ExpressionError naming the column of the problem."""
    return _Parser(source).parse()


def references(node: Node) -> list[str]:
    """The question names an expression reads, in order of appearance."""
    if isinstance(node, Ref):
        return [node.name]
    if isinstance(node, Not):
        return references(node.operand)
    if isinstance(node, BoolOp | Call):
        children: Sequence[Node] = node.operands if isinstance(node, BoolOp) else node.args
        return [name for child in children for name in references(child)]
    if isinstance(node, Compare):
        return references(node.left) + references(node.right)
    return []


def selections(node: Node) -> list[tuple[str, str]]:
    """(question, choice) pairs tested by selected(), for checking choices exist."""
    if isinstance(node, Call) and node.function == "selected":
        ref, value = node.args
        if isinstance(ref, Ref) and isinstance(value, Literal):
            return [(ref.name, str(value.value))]
        return []
    if isinstance(node, Not):
        return selections(node.operand)
    if isinstance(node, BoolOp):
        return [pair for child in node.operands for pair in selections(child)]
    return []


def _normalise(value: Value) -> Value:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _value(node: Node, answers: Mapping[str, Value]) -> Value:
    if isinstance(node, Literal):
        return _normalise(node.value)
    if isinstance(node, Ref):
        return _normalise(answers.get(node.name))
    if isinstance(node, Call):
        chosen = answers.get(_ref_name(node.args[0]))
        chosen_list = chosen if isinstance(chosen, list) else ([] if chosen is None else [chosen])
        if node.function == "count-selected":
            return len(chosen_list)
        wanted = _value(node.args[1], answers)
        return any(str(item) == str(wanted) for item in chosen_list)
    return evaluate(node, answers)


def _ref_name(node: Node) -> str:
    assert isinstance(node, Ref)
    return node.name


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: Value) -> float | None:
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("=", "!="):
        if left is None or right is None:
            empty_left = left is None or left == ""
            empty_right = right is None or right == ""
            equal = empty_left and empty_right
        elif _is_number(left) or _is_number(right):
            left_number, right_number = _as_number(left), _as_number(right)
            equal = left_number is not None and left_number == right_number
        else:
            equal = str(left) == str(right)
        return equal if op == "=" else not equal
    if left is None or right is None or left == "" or right == "":
        return False
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        a: float | str = left_number
        b: float | str = right_number
    else:
        a, b = str(left), str(right)
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _truthy(value: Value) -> bool:
    if value in ("no", "", None, 0, False):
        return False
    return not (isinstance(value, list) and not value)


def evaluate(node: Node, answers: Mapping[str, Value]) -> bool:
    """Evaluate to a boolean against the answers given so far."""
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(child, answers) for child in node.operands)
        return any(evaluate(child, answers) for child in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, answers)
    if isinstance(node, Compare):
        return _compare(node.op, _value(node.left, answers), _value(node.right, answers))
    return _truthy(_value(node, answers))
