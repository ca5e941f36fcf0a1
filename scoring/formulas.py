"""The formula language of methodology files: safe arithmetic, parsed to a tree, run on columns.

    40 - 1000 * complaints_late / complaints_reviewed
    25 * clamp(1 - 1000 * quality_complaints / services_delivered / ceiling, 0, 1)
    lookup(r4_internal_control, 100 * internal_control_share)

Grammar: numbers (`12`, `0.5`, `1e-4`), names (inputs, constants, other nodes), `+ - * /`, unary
minus, parentheses, and four functions: `min(a, b, …)`, `max(a, b, …)`, `clamp(x, lo, hi)` and
`lookup(table, x)` (a step table declared in the file). Nothing here calls `eval`; any other text
is a `FormulaError` naming the column where it went wrong.

Evaluation is vectorised: every name is a pandas Series (one row per agency and period) and the
result is a Series. Anything undefined — division by zero, overflow, a missing value — is NaN,
never inf, and NaN propagates (min/max/clamp of NaN is NaN), so a missing input can never be
silently replaced by a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Union

import numpy as np
import pandas as pd

MAX_DEPTH = 64  # nesting of parentheses, calls and unary minus; deeper is refused, not a crash
FUNCTIONS = ("min", "max", "clamp", "lookup")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

Array = np.ndarray  # float64 arrays inside evaluation


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; `column` is 0-based, the message 1-based."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(f"{reason} at column {column + 1}")
        self.reason = reason
        self.column = column


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Name:
    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Negate:
    operand: Expr


@dataclass(frozen=True)
class BinaryOp:
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call:
    function: str  # min | max | clamp | lookup
    args: tuple[Expr, ...]
    column: int = field(default=0, compare=False)


Expr = Union[Number, Name, Negate, BinaryOp, Call]  # noqa: UP007 (recursive alias)


@dataclass(frozen=True)
class LookupTable:
    """A step table: the points of the highest threshold not above x, else `otherwise`.

    R4 of the 2020 methodology is one: share ≥ 90 → 10, ≥ 80 → 8, …, else 0.
    """

    thresholds: tuple[float, ...]  # ascending, distinct
    points: tuple[float, ...]
    otherwise: float

    def apply(self, x: Array) -> Array:
        """The table's points for each value of `x`; NaN stays NaN."""
        thresholds = np.asarray(self.thresholds, dtype="float64")
        points = np.asarray(self.points, dtype="float64")
        position = np.searchsorted(thresholds, np.nan_to_num(x, nan=-np.inf), side="right") - 1
        values = np.where(position >= 0, points[np.clip(position, 0, None)], self.otherwise)
        return np.where(np.isnan(x), np.nan, values)

    @property
    def lowest(self) -> float:
        return min(*self.points, self.otherwise)

    @property
    def highest(self) -> float:
        return max(*self.points, self.otherwise)

    @property
    def monotone(self) -> bool:
        """True when the points never fall or never rise as x grows (then bounds map to bounds)."""
        steps = np.diff(np.asarray((self.otherwise, *self.points), dtype="float64"))
        return bool(np.all(steps >= 0) or np.all(steps <= 0))


# --- parsing ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>[-+*/])
    |(?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | op | punct | end
    text: str
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise FormulaError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(0), position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _found(token: _Token) -> str:
    return repr(token.text) if token.kind != "end" else "the end"


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, text: str) -> bool:
        return self.current.kind == kind and self.current.text == text

    def expect_punct(self, text: str) -> None:
        if not self.at("punct", text):
            raise FormulaError(
                f"expected {text!r}, found {_found(self.current)}", self.current.column
            )
        self.take()

    def deeper(self, opening: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"nested more than {MAX_DEPTH} levels deep", opening.column)

    def parse(self) -> Expr:
        if self.current.kind == "end":
            raise FormulaError("empty formula", 0)
        expr = self.sum()
        if self.current.kind != "end":
            raise FormulaError(f"unexpected {_found(self.current)}", self.current.column)
        return expr

    def sum(self) -> Expr:
        expr = self.product()
        while self.current.kind == "op" and self.current.text in "+-":
            op = self.take().text
            expr = BinaryOp(op, expr, self.product())
        return expr

    def product(self) -> Expr:
        expr = self.unary()
        while self.current.kind == "op" and self.current.text in "*/":
            op = self.take().text
            expr = BinaryOp(op, expr, self.unary())
        return expr

    def unary(self) -> Expr:
        if self.at("op", "-") or self.at("op", "+"):
            sign_token = self.take()
            sign = sign_token.text
            self.deeper(sign_token)
            operand = self.unary()
            self.depth -= 1
            return Negate(operand) if sign == "-" else operand
        return self.primary()

    def primary(self) -> Expr:
        token = self.current
        if token.kind == "number":
            self.take()
            value = float(token.text)
            if not math.isfinite(value):
                raise FormulaError(f"number {token.text} is too large", token.column)
            return Number(value)
        if token.kind == "name":
            self.take()
            if self.at("punct", "("):
                return self.call(token)
            if token.text in FUNCTIONS:
                raise FormulaError(
                    f"{token.text} is a function; write {token.text}(…)", token.column
                )
            return Name(token.text, token.column)
        if self.at("punct", "("):
            self.deeper(self.take())
            expr = self.sum()
            self.depth -= 1
            self.expect_punct(")")
            return expr
        raise FormulaError(f"expected a number, a name or '(', found {_found(token)}", token.column)

    def call(self, name: _Token) -> Expr:
        if name.text not in FUNCTIONS:
            raise FormulaError(
                f"unknown function {name.text!r}; use min, max, clamp or lookup", name.column
            )
        self.deeper(self.take())  # "("
        args: list[Expr] = []
        if not self.at("punct", ")"):
            args.append(self.sum())
            while self.at("punct", ","):
                self.take()
                args.append(self.sum())
        self.expect_punct(")")
        self.depth -= 1
        wanted = {"min": "2 or more", "max": "2 or more", "clamp": "3", "lookup": "2"}[name.text]
        enough = len(args) >= 2 if name.text in ("min", "max") else len(args) == int(wanted)
        if not enough:
            raise FormulaError(
                f"{name.text}() takes {wanted} arguments, got {len(args)}", name.column
            )
        if name.text == "lookup" and not isinstance(args[0], Name):
            raise FormulaError("lookup() needs a table name first", name.column)
        return Call(name.text, tuple(args), name.column)


def parse(source: str) -> Expr:
    """Parse a formula; raises FormulaError naming the column of the problem."""
    return _Parser(source).parse()


# --- looking at a tree -----------------------------------------------------------------------


def walk(expr: Expr) -> Iterator[Expr]:
    """Every sub-expression, parents before children, left to right."""
    yield expr
    if isinstance(expr, Negate):
        yield from walk(expr.operand)
    elif isinstance(expr, BinaryOp):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)


def table_names(expr: Expr) -> list[Name]:
    """The tables read by lookup(), in order of appearance."""
    return [
        node.args[0]
        for node in walk(expr)
        if isinstance(node, Call) and node.function == "lookup" and isinstance(node.args[0], Name)
    ]


def references(expr: Expr) -> list[Name]:
    """The names a formula reads as values (inputs, constants, nodes), not the tables."""
    tables = {id(name) for name in table_names(expr)}
    return [node for node in walk(expr) if isinstance(node, Name) and id(node) not in tables]


def numbers(expr: Expr) -> list[float]:
    """The numeric literals written in a formula (each needs a source in a methodology file)."""
    return [node.value for node in walk(expr) if isinstance(node, Number)]


def render(expr: Expr) -> str:
    """Formula text that parses back to the same tree, with only the parentheses it needs."""
    if isinstance(expr, Number):
        return repr(expr.value)
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Negate):
        inner = render(expr.operand)
        return f"-({inner})" if isinstance(expr.operand, BinaryOp) else f"-{inner}"
    if isinstance(expr, Call):
        return f"{expr.function}({', '.join(render(arg) for arg in expr.args)})"
    precedence = _PRECEDENCE[expr.op]
    left, right = render(expr.left), render(expr.right)
    if isinstance(expr.left, BinaryOp) and _PRECEDENCE[expr.left.op] < precedence:
        left = f"({left})"
    if isinstance(expr.right, BinaryOp) and _PRECEDENCE[expr.right.op] <= precedence:
        right = f"({right})"
    return f"{left} {expr.op} {right}"


# --- evaluation ------------------------------------------------------------------------------


def finite(values: Array) -> Array:
    """inf and -inf become NaN: an undefined result is missing, never infinitely good or bad."""
    return np.where(np.isfinite(values), values, np.nan)


def evaluate(
    expr: Expr,
    values: Mapping[str, pd.Series | float],
    tables: Mapping[str, LookupTable] | None = None,
    index: pd.Index | None = None,
) -> pd.Series:
    """Evaluate a formula over columns: each name is a Series (or a number) aligned on `index`.

    `index` defaults to the index of the first Series in `values`. Division by zero and any other
    undefined arithmetic give NaN; NaN in any operand gives NaN.
    """
    if index is None:
        index = next((v.index for v in values.values() if isinstance(v, pd.Series)), None)
        if index is None:
            index = pd.RangeIndex(1)
    arrays = {name: _column(value, index) for name, value in values.items()}
    result = evaluate_arrays(expr, arrays, tables or {}, len(index))
    return pd.Series(result, index=index, dtype="float64")


def _column(value: pd.Series | float, index: pd.Index) -> Array | float:
    if isinstance(value, pd.Series):
        aligned = value if value.index.equals(index) else value.reindex(index)
        numeric = pd.to_numeric(aligned, errors="coerce")
        return finite(np.asarray(numeric, dtype="float64"))
    number = float(value)
    return number if math.isfinite(number) else math.nan


def evaluate_arrays(
    expr: Expr, values: Mapping[str, Array | float], tables: Mapping[str, LookupTable], size: int
) -> Array:
    """`evaluate` on plain float arrays of length `size` (no index), for callers that align rows.

    Arrays must already be float64 with NaN for missing values.
    """
    return np.broadcast_to(_value(expr, values, tables), (size,)).astype("float64", copy=True)


def _value(
    expr: Expr, values: Mapping[str, Array | float], tables: Mapping[str, LookupTable]
) -> Array | float:
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, Name):
        if expr.name not in values:
            raise FormulaError(f"unknown name {expr.name!r}", expr.column)
        return values[expr.name]
    if isinstance(expr, Negate):
        return -np.asarray(_value(expr.operand, values, tables), dtype="float64")
    if isinstance(expr, BinaryOp):
        left = np.asarray(_value(expr.left, values, tables), dtype="float64")
        right = np.asarray(_value(expr.right, values, tables), dtype="float64")
        return arithmetic(expr.op, left, right)
    args = [np.asarray(_value(arg, values, tables), dtype="float64") for arg in expr.args[1:]]
    if expr.function == "lookup":
        table = _table(expr, tables)
        return table.apply(np.atleast_1d(args[0]))
    first = np.asarray(_value(expr.args[0], values, tables), dtype="float64")
    if expr.function == "clamp":
        clamped: Array = np.minimum(np.maximum(first, args[0]), args[1])
        return clamped
    reduce = np.minimum if expr.function == "min" else np.maximum
    result = first
    for arg in args:
        result = reduce(result, arg)
    return result


def arithmetic(op: str, left: Array, right: Array) -> Array:
    """`left op right` elementwise, with every non-finite result made NaN."""
    with np.errstate(all="ignore"):
        if op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        else:
            result = left / right
    return finite(np.asarray(result, dtype="float64"))


def _table(expr: Call, tables: Mapping[str, LookupTable]) -> LookupTable:
    name = expr.args[0]
    assert isinstance(name, Name)
    if name.name not in tables:
        raise FormulaError(f"unknown table {name.name!r}", name.column)
    return tables[name.name]
