"""From a structurally valid file to a Methodology, refusing anything that does not add up.

Each check reports `file:line: what is wrong` and, where it can, what would be right: weights that
don't sum to 1 within a parent (per agency kind), formulas that don't parse or read unknown names,
nodes that read each other in a cycle, grade bands that overlap or leave gaps, numbers without a
source, inputs nobody reads.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lined_yaml import Path_, line_of
from scoring import formulas
from scoring.formulas import Expr, FormulaError, LookupTable
from scoring.model import (
    KINDS,
    GradeBand,
    InputSpec,
    Methodology,
    MethodologyError,
    Node,
    Problem,
)
from scoring.schema import MethodologyFile, NodeSpec

NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
WEIGHT_TOLERANCE = 1e-9
_KIND_SETS = {
    "central": frozenset({"central"}),
    "local": frozenset({"local"}),
    "both": frozenset(KINDS),
}


def _kinds_text(kinds: Iterable[str]) -> str:
    ordered = [kind for kind in KINDS if kind in set(kinds)]
    return " and ".join(ordered) + " bodies"


def _number(value: float) -> str:
    return f"{value:.6g}"


@dataclass
class _Flat:
    key: str
    spec: NodeSpec
    parent: str | None
    path: Path_
    depth: int
    kinds: frozenset[str]
    formula: Expr | None = None
    weights: dict[str, float] = field(default_factory=dict)


class _Checker:
    def __init__(self, spec: MethodologyFile, lines: dict[Path_, int], file: str) -> None:
        self.spec = spec
        self.lines = lines
        self.file = file
        self.problems: list[Problem] = []
        self.nodes: dict[str, _Flat] = {}

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(path, self.lines), message))

    # --- names ---------------------------------------------------------------------------

    def flatten(self) -> None:
        (root, root_spec), *_ = self.spec.tree.items()
        stack: list[tuple[str, NodeSpec, str | None, Path_, int]] = [
            (root, root_spec, None, ("tree", root), 0)
        ]
        while stack:
            key, spec, parent, path, depth = stack.pop()
            if not NAME.match(key):
                self.problem(path, f"node name {key!r} must be lower-case letters, digits and _")
            if key in self.nodes:
                first = line_of(self.nodes[key].path, self.lines)
                self.problem(path, f"node name {key!r} is used twice (also on line {first})")
                continue
            self.nodes[key] = _Flat(key, spec, parent, path, depth, _KIND_SETS[spec.applies_to])
            children = list(spec.children.items())
            for child, child_spec in reversed(children):
                stack.append((child, child_spec, key, (*path, "children", child), depth + 1))

    def check_names(self) -> None:
        sections: dict[str, list[str]] = {
            "input": list(self.spec.inputs),
            "constant": list(self.spec.constants),
            "table": list(self.spec.tables),
        }
        owner: dict[str, str] = {key: "node" for key in self.nodes}
        for section, names in sections.items():
            for name in names:
                path: Path_ = (f"{section}s", name)
                if not NAME.match(name):
                    self.problem(
                        path, f"{section} name {name!r} must be lower-case letters, digits and _"
                    )
                if name in formulas.FUNCTIONS:
                    self.problem(path, f"{section} name {name!r} is a function name; rename it")
                if name in owner:
                    self.problem(
                        path, f"{name!r} is both a {owner[name]} and a {section}; rename one"
                    )
                owner.setdefault(name, section)

    # --- formulas, weights, sources --------------------------------------------------------

    def parse_formulas(self) -> None:
        for node in self.nodes.values():
            if node.spec.formula is None:
                continue
            try:
                node.formula = formulas.parse(node.spec.formula)
            except FormulaError as error:
                self.problem((*node.path, "formula"), f"formula of '{node.key}': {error}")

    def check_references(self) -> None:
        known = set(self.nodes) | set(self.spec.inputs) | set(self.spec.constants)
        for node in self.nodes.values():
            if node.formula is None:
                continue
            path = (*node.path, "formula")
            for name in formulas.references(node.formula):
                if name.name in known:
                    continue
                close = difflib.get_close_matches(name.name, sorted(known), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "declare it under 'inputs'"
                self.problem(
                    path,
                    f"formula of '{node.key}' reads unknown name {name.name!r} at column "
                    f"{name.column + 1}; {hint}",
                )
            for table in formulas.table_names(node.formula):
                if table.name not in self.spec.tables:
                    tables = ", ".join(sorted(self.spec.tables)) or "none declared"
                    self.problem(
                        path,
                        f"formula of '{node.key}' looks up unknown table {table.name!r} at column "
                        f"{table.column + 1}; tables: {tables}",
                    )

    def check_sources(self) -> None:
        for node in self.nodes.values():
            needed = []
            if node.spec.weight is not None:
                needed.append("weight")
            if node.formula is not None and formulas.numbers(node.formula):
                needed.append("formula")
            if node.spec.clamp is not None:
                needed.append("clamp")
            source = node.spec.source
            for item in needed:
                if isinstance(source, str) or (isinstance(source, dict) and item in source):
                    continue
                self.problem(
                    (*node.path, item),
                    f"'{item}' of '{node.key}' has no source; add 'source: research report, "
                    f"2020, section N' or 'source: assumption: why'",
                )

    def check_assumption_ranges(self) -> None:
        for name, constant in self.spec.constants.items():
            if constant.range is None:
                continue
            low, high = constant.range
            if not low <= constant.value <= high or not low < high:
                self.problem(
                    ("constants", name, "range"),
                    f"range of constant '{name}' must be [low, high] with low below high "
                    f"and the value {_number(constant.value)} inside it",
                )
        for node in self.nodes.values():
            spec = node.spec
            for name in spec.left_out_when_zero:
                if name not in self.spec.inputs:
                    self.problem(
                        (*node.path, "left_out_when_zero"),
                        f"'{node.key}' is left out when {name!r} is 0, but no input has that name",
                    )
            if spec.weight_range is None:
                continue
            low, high = spec.weight_range
            values = [v for v in node.weights.values()]
            if not 0 < low < high <= 1 or any(not low <= v <= high for v in values):
                self.problem(
                    (*node.path, "weight_range"),
                    f"weight_range of '{node.key}' must be [low, high] within (0, 1], low below "
                    f"high, with its weight inside",
                )

    def check_clamps(self) -> None:
        for node in self.nodes.values():
            clamp = node.spec.clamp
            if clamp is not None and not clamp[0] < clamp[1]:
                self.problem(
                    (*node.path, "clamp"),
                    f"clamp of '{node.key}' must be [low, high] with low below high",
                )

    def weight_value(self, node: _Flat, text: float | str, kind: str | None) -> float | None:
        path = (*node.path, "weight") if kind is None else (*node.path, "weight", kind)
        what = f"weight of '{node.key}'" + ("" if kind is None else f" for {kind} bodies")
        if isinstance(text, str):
            try:
                expr = formulas.parse(text)
            except FormulaError as error:
                self.problem(path, f"{what}: {error}")
                return None
            names = formulas.references(expr) + formulas.table_names(expr)
            if names:
                self.problem(
                    path, f"{what} reads {names[0].name!r}; write a number or arithmetic like 0.7/3"
                )
                return None
            value = float(formulas.evaluate(expr, {}).iloc[0])
        else:
            value = float(text)
        if not 0 < value <= 1:
            self.problem(
                path, f"{what} is {_number(value)}; a weight is a share of its parent, in (0, 1]"
            )
            return None
        return value

    def check_structure(self) -> None:
        for node in self.nodes.values():
            spec = node.spec
            if not spec.children and spec.formula is None:
                self.problem(node.path, f"'{node.key}' has neither a formula nor children")
            if node.parent is None:
                if spec.weight is not None:
                    self.problem((*node.path, "weight"), f"the root '{node.key}' takes no weight")
                continue
            parent = self.nodes[node.parent]
            if not node.kinds <= parent.kinds:
                self.problem(
                    (*node.path, "applies_to"),
                    f"'{node.key}' applies to {_kinds_text(node.kinds)}, but its parent "
                    f"'{parent.key}' only to {_kinds_text(parent.kinds)}; narrow 'applies_to'",
                )
            if parent.spec.formula is not None:
                if spec.weight is not None:
                    self.problem(
                        (*node.path, "weight"),
                        f"'{node.key}' has a weight, but its parent '{parent.key}' has a formula; "
                        f"remove the weight",
                    )
                # (a formula that did not parse is reported already)
                if parent.formula is not None and node.key not in _read_names(parent.formula):
                    self.problem(
                        node.path,
                        f"the formula of '{parent.key}' does not read its child '{node.key}'; "
                        f"use it or move it",
                    )
                continue
            if spec.weight is None:
                self.problem(
                    node.path,
                    f"'{node.key}' has no weight; '{parent.key}' adds its children by weight "
                    f"(or give '{parent.key}' a formula)",
                )
                continue
            self.resolve_weights(node)

    def resolve_weights(self, node: _Flat) -> None:
        weight = node.spec.weight
        if not isinstance(weight, dict):
            value = self.weight_value(node, weight, None)
            if value is not None:
                node.weights = dict.fromkeys(sorted(node.kinds), value)
            return
        for kind in KINDS:
            if kind in weight and kind not in node.kinds:
                self.problem(
                    (*node.path, "weight", kind),
                    f"weight of '{node.key}' is given for {kind} bodies, but '{node.key}' "
                    f"applies only to {_kinds_text(node.kinds)}",
                )
            elif kind in node.kinds and kind not in weight:
                self.problem(
                    (*node.path, "weight"), f"weight of '{node.key}' has no value for {kind} bodies"
                )
            elif kind in weight:
                value = self.weight_value(node, weight[kind], kind)
                if value is not None:
                    node.weights[kind] = value

    def check_weight_sums(self) -> None:
        for parent in self.nodes.values():
            if parent.spec.formula is not None or not parent.spec.children:
                continue
            children = [self.nodes[key] for key in parent.spec.children if key in self.nodes]
            if any(not child.weights for child in children):
                continue  # a missing or wrong weight is reported already
            sums = {
                kind: math.fsum(child.weights.get(kind, 0.0) for child in children)
                for kind in KINDS
                if kind in parent.kinds
            }
            wrong = {
                kind: total for kind, total in sums.items() if abs(total - 1) > WEIGHT_TOLERANCE
            }
            if not wrong:
                continue
            if len(wrong) == len(sums) and len({round(v, 12) for v in wrong.values()}) == 1:
                total = next(iter(wrong.values()))
                self.problem(
                    parent.path,
                    f"weights under '{parent.key}' sum to {_number(total)}, expected 1",
                )
                continue
            for kind, total in wrong.items():
                self.problem(
                    parent.path,
                    f"weights under '{parent.key}' sum to {_number(total)} for {kind} bodies, "
                    f"expected 1",
                )

    def check_applicability(self) -> None:
        for node in self.nodes.values():
            if node.formula is None:
                continue
            for name in formulas.references(node.formula):
                other = self.nodes.get(name.name)
                if other is None or node.kinds <= other.kinds:
                    continue
                self.problem(
                    (*node.path, "formula"),
                    f"formula of '{node.key}' reads '{other.key}', which applies only to "
                    f"{_kinds_text(other.kinds)}, but '{node.key}' applies to "
                    f"{_kinds_text(node.kinds)}; narrow 'applies_to' or read another node",
                )

    # --- dependencies ----------------------------------------------------------------------

    def reads(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        for node in self.nodes.values():
            if node.spec.formula is None:
                keys = [key for key in node.spec.children if key in self.nodes]
            elif node.formula is None:
                keys = []
            else:
                names = [name.name for name in formulas.references(node.formula)]
                keys = [name for name in names if name in self.nodes]
            result[node.key] = tuple(dict.fromkeys(keys))
        return result

    def order(self, reads: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """Dependencies first; reports a cycle (once) instead of looping."""
        done: set[str] = set()
        visiting: list[str] = []
        order: list[str] = []
        reported = False

        def visit(key: str) -> None:
            nonlocal reported
            if key in done:
                return
            if key in visiting:
                if not reported:
                    cycle = [*visiting[visiting.index(key) :], key]
                    # point at the formula that closes the cycle: that is where a name changes
                    with_formula = [k for k in cycle if self.nodes[k].spec.formula is not None]
                    closing = cycle[-2] if cycle[-2] in with_formula else None
                    start = self.nodes[closing or (with_formula or cycle)[0]]
                    field = "formula" if with_formula else "children"
                    self.problem(
                        (*start.path, field),
                        f"nodes read each other in a cycle: {' → '.join(cycle)}; "
                        f"a node cannot depend on itself",
                    )
                    reported = True
                return
            visiting.append(key)
            for dependency in reads[key]:
                visit(dependency)
            visiting.pop()
            done.add(key)
            order.append(key)

        for key in self.nodes:
            visit(key)
        return tuple(order)

    # --- grades, inputs, tables ------------------------------------------------------------

    def grade_bands(self) -> tuple[GradeBand, ...]:
        bands: list[tuple[GradeBand, int]] = []
        seen: set[str] = set()
        for position, spec in enumerate(self.spec.grades.bands):
            where: Path_ = ("grades", "bands", position)
            if spec.key in seen:
                self.problem(where, f"grade band {spec.key!r} is defined twice")
            seen.add(spec.key)
            lower = -math.inf if spec.from_ is None else spec.from_
            upper = math.inf if spec.below is None else spec.below
            if not lower < upper:
                self.problem(
                    where,
                    f"grade band {spec.key!r} is empty: 'from' {_number(lower)} is not below "
                    f"'below' {_number(upper)}",
                )
                continue
            bands.append((GradeBand(spec.key, spec.label, lower, upper), position))
        bands.sort(key=lambda item: (item[0].lower, item[0].upper))
        for (previous, _), (band, index) in itertools.pairwise(bands):
            path = ("grades", "bands", index)
            if previous.upper > band.lower:
                end = (
                    "has no 'below'"
                    if math.isinf(previous.upper)
                    else (f"runs below {_number(previous.upper)}")
                )
                self.problem(
                    path,
                    f"grade bands {previous.key!r} and {band.key!r} overlap: {previous.key!r} "
                    f"{end} but {band.key!r} starts at {_number(band.lower)}; make "
                    f"{previous.key!r} end below {_number(band.lower)}",
                )
            elif previous.upper < band.lower:
                self.problem(
                    path,
                    f"grade bands leave a gap from {_number(previous.upper)} to "
                    f"{_number(band.lower)}: {previous.key!r} ends below "
                    f"{_number(previous.upper)} but {band.key!r} starts at {_number(band.lower)}; "
                    f"make them meet",
                )
        if bands and not math.isinf(bands[0][0].lower):
            first, index = bands[0]
            self.problem(
                ("grades", "bands", index, "from"),
                f"the lowest grade band {first.key!r} starts at {_number(first.lower)}, so lower "
                f"scores get no grade; remove its 'from'",
            )
        if bands and not math.isinf(bands[-1][0].upper):
            last, index = bands[-1]
            self.problem(
                ("grades", "bands", index, "below"),
                f"the highest grade band {last.key!r} ends below {_number(last.upper)}, so higher "
                f"scores get no grade; remove its 'below'",
            )
        return tuple(band for band, _ in bands)

    def inputs(self) -> dict[str, InputSpec]:
        result: dict[str, InputSpec] = {}
        for name, spec in self.spec.inputs.items():
            if spec.sample is not None:
                sample = self.spec.inputs.get(spec.sample)
                if sample is None or sample.unit != "count" or sample.sample is not None:
                    self.problem(
                        ("inputs", name, "sample"),
                        f"input '{name}' takes its sample size from '{spec.sample}', "
                        f"which is not a declared count input",
                    )
                if spec.unit != "share":
                    self.problem(
                        ("inputs", name, "sample"),
                        f"input '{name}' has a sample, so its unit must be 'share'",
                    )
            if spec.official_without_sample and spec.sample is None:
                self.problem(
                    ("inputs", name, "official_without_sample"),
                    f"input '{name}' has no sample, so it is an official figure already; "
                    f"remove 'official_without_sample'",
                )
            result[name] = InputSpec(
                name, spec.unit, spec.sample, spec.about, spec.official_without_sample, spec.scored
            )
        return result

    def tables(self) -> dict[str, LookupTable]:
        result: dict[str, LookupTable] = {}
        for name, spec in self.spec.tables.items():
            steps = sorted(spec.steps, key=lambda step: step.from_)
            thresholds = [step.from_ for step in steps]
            repeated = sorted({value for value in thresholds if thresholds.count(value) > 1})
            if repeated:
                self.problem(
                    ("tables", name, "steps"),
                    f"table '{name}' has two steps from {_number(repeated[0])}; "
                    f"each step needs its own threshold",
                )
                continue
            result[name] = LookupTable(
                tuple(thresholds), tuple(step.points for step in steps), spec.otherwise
            )
        return result

    def check_unused(self) -> None:
        read: set[str] = set()
        tables: set[str] = set()
        for node in self.nodes.values():
            if node.formula is not None:
                read |= {name.name for name in formulas.references(node.formula)}
                tables |= {name.name for name in formulas.table_names(node.formula)}
            read |= set(node.spec.left_out_when_zero)
        samples = {
            spec.sample for name, spec in self.spec.inputs.items() if name in read and spec.sample
        }
        for name, spec in self.spec.inputs.items():
            if not spec.scored and name in read:
                self.problem(
                    ("inputs", name, "scored"),
                    f"input '{name}' is marked 'scored: false' but a formula reads it; "
                    f"remove the mark or the reading",
                )
        read |= {name for name, spec in self.spec.inputs.items() if not spec.scored}
        for section, names, used in (
            ("input", self.spec.inputs, read | samples),
            ("constant", self.spec.constants, read),
            ("table", self.spec.tables, tables),
        ):
            for name in names:
                if name not in used:
                    self.problem(
                        (f"{section}s", name),
                        f"{section} '{name}' is declared but nothing reads it; "
                        f"remove it or use it in a formula",
                    )


def _read_names(expr: Expr | None) -> set[str]:
    return set() if expr is None else {name.name for name in formulas.references(expr)}


def _needs(
    order: tuple[str, ...],
    nodes: dict[str, _Flat],
    reads: dict[str, tuple[str, ...]],
    inputs: dict[str, InputSpec],
) -> dict[str, dict[str, tuple[str, ...]]]:
    needs: dict[str, dict[str, tuple[str, ...]]] = {}
    for key in order:
        node = nodes[key]
        direct = set()
        if node.formula is not None:
            direct = {
                name.name for name in formulas.references(node.formula) if name.name in inputs
            }
        needs[key] = {}
        for kind in sorted(node.kinds):
            names = set(direct)
            for dependency in reads[key]:
                names |= set(needs[dependency].get(kind, ()))
            names |= {inputs[name].sample or name for name in names}
            needs[key][kind] = tuple(sorted(names))
    return needs


def build(spec: MethodologyFile, lines: dict[Path_, int], file: str, digest: str) -> Methodology:
    """Check a parsed file's meaning and compile it; raises MethodologyError listing problems."""
    checker = _Checker(spec, lines, file)
    checker.flatten()
    checker.check_names()
    checker.parse_formulas()
    checker.check_references()
    checker.check_sources()
    checker.check_clamps()
    checker.check_structure()
    checker.check_weight_sums()
    checker.check_assumption_ranges()
    checker.check_applicability()
    reads = checker.reads()
    order = checker.order(reads)
    grades = checker.grade_bands()
    inputs = checker.inputs()
    tables = checker.tables()
    if not checker.problems:  # a broken formula may be what would read the input
        checker.check_unused()
    if checker.problems:
        unique = dict.fromkeys(sorted(checker.problems, key=lambda p: (p.line, p.message)))
        raise MethodologyError(list(unique))
    nodes = {
        key: Node(
            key=key,
            label=flat.spec.label,
            about=flat.spec.about,
            parent=flat.parent,
            children=tuple(flat.spec.children),
            weights=flat.weights,
            formula=flat.formula,
            formula_text=flat.spec.formula,
            clamp=flat.spec.clamp,
            applies_to=flat.kinds,
            graded=flat.spec.graded,
            depth=flat.depth,
            sources=_sources(flat.spec),
            explain=flat.spec.explain or {},
            left_out_when_zero=tuple(flat.spec.left_out_when_zero),
            weight_range=flat.spec.weight_range,
        )
        for key, flat in checker.nodes.items()
    }
    (root,) = spec.tree
    return Methodology(
        name=spec.methodology,
        version=spec.version,
        title=spec.title,
        about=spec.about,
        explain=spec.explain or {},
        file=file,
        hash=digest,
        root=root,
        nodes=nodes,
        inputs=inputs,
        constants={name: constant.value for name, constant in spec.constants.items()},
        tables=tables,
        grades=grades,
        order=order,
        reads=reads,
        needs=_needs(order, checker.nodes, reads, inputs),
        constant_sources={name: constant.source for name, constant in spec.constants.items()},
        ranges={
            name: constant.range
            for name, constant in spec.constants.items()
            if constant.range is not None
        },
    )


def _sources(spec: NodeSpec) -> dict[str, str]:
    if isinstance(spec.source, dict):
        return dict(spec.source)
    if spec.source is None:
        return {}
    return dict.fromkeys(("weight", "formula", "clamp"), spec.source)
