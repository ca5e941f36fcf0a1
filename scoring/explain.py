"""Every figure explained: one row per node of one agency's tree, enough to recompute it by hand.

    table = explain(methodology, scores, inputs, agency="MJ", period="2025", language="ru")

`scores` is what scoring.score returns (or a stored run's rows, with the same columns); `inputs`
the long inputs of the run (`agency, period, input, value`), or None when they are not at hand
(then formulas show the input names where the values would be). Columns (EXPLAIN_COLUMNS):

- `node`, `parent`, `depth`, `label` (the reader's language), `graded`;
- `value`, `grade`, `status`, `n`, `ci_low`, `ci_high` as scored;
- `weight`: the node's weight in its parent for this body's kind, as the file writes it;
  `share`: the weight it actually got after siblings without a value were left out
  (re-weighting), so a weighted parent's value is the sum of its children's `share × value`;
- `formula`: the formula as written (or `w1·child1 + …` for a weighted node); `substituted`:
  the same with every name replaced by its number, which the formula language evaluates back
  to `value` (before the clamp, when the node has one); `clamp`;
- `inputs`: `name = value` of the inputs the node reads itself;
- `reason`: the status's reason in the reader's language; `source`: what the numbers rest on,
  in the reader's words ("research report, 2020, section 2.5 …", "assumption: …").
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from scoring import formulas
from scoring.formulas import BinaryOp, Call, Expr, Name, Negate, Number
from scoring.model import Methodology, Node
from scoring.sources import source_words as source_words  # where readers of explain find it

EXPLAIN_COLUMNS = (
    "node",
    "parent",
    "depth",
    "label",
    "graded",
    "value",
    "grade",
    "status",
    "n",
    "ci_low",
    "ci_high",
    "weight",
    "share",
    "formula",
    "substituted",
    "clamp",
    "inputs",
    "reason",
    "source",
)
LANGUAGES = ("kk", "ru", "en")

# The words of `reason` codes (scoring.compute.REASON_CODES) and of sources, per language.
REASON_WORDS: Mapping[str, Mapping[str, str]] = {
    "kind_unknown": {
        "kk": "органның түрі (орталық не жергілікті) белгісіз",
        "ru": "вид органа (центральный или местный) неизвестен",
        "en": "the body's kind (central or local) is not known",
    },
    "kind": {
        "kk": "бұл түрдегі органдарға қолданылмайды ({args})",
        "ru": "не применяется к органам этого вида ({args})",
        "en": "does not apply to bodies of this kind ({args})",
    },
    "zero": {
        "kk": "қолданылмайды, себебі нөлге тең: {args}",
        "ru": "не применяется, так как равно нулю: {args}",
        "en": "not applicable because this is 0: {args}",
    },
    "inputs_missing": {
        "kk": "деректер берілмеген: {args}",
        "ru": "данные не предоставлены: {args}",
        "en": "not supplied: {args}",
    },
    "sample": {
        "kk": "іріктеме жеткіліксіз: {args} жауап",
        "ru": "недостаточная выборка: {args} ответов",
        "en": "sample too small: {args} responses",
    },
    "undefined": {
        "kk": "бұл деректермен есептеу мүмкін емес (нөлге бөлу)",
        "ru": "при этих данных расчёт невозможен (деление на ноль)",
        "en": "cannot be computed from these figures (a division by zero)",
    },
    "left_out": {
        "kk": "қолданылмайтын бөліктер алынып тасталды, қалғандары қайта салмақталды: {args}",
        "ru": "неприменимые части исключены, остальные перевзвешены: {args}",
        "en": "parts left out as not applicable, the rest re-weighted: {args}",
    },
    "without": {
        "kk": "алдын ала: мәні жоқ бөліктерсіз есептелді, қалғандары қайта салмақталды: {args}",
        "ru": "предварительно: рассчитано без частей без значения, остальные перевзвешены: {args}",
        "en": (
            "provisional: computed without parts that have no value, the rest re-weighted: {args}"
        ),
    },
    "provisional": {
        "kk": "алдын ала бөліктерден есептелді: {args}",
        "ru": "рассчитано из предварительных частей: {args}",
        "en": "computed from provisional parts: {args}",
    },
    "reads": {
        "kk": "мәні жоқ бөліктерді оқиды: {args}",
        "ru": "использует части без значения: {args}",
        "en": "reads parts without a value: {args}",
    },
}
STATUS_WORDS: Mapping[str, Mapping[str, str]] = {
    "ok": {"kk": "есептелді", "ru": "рассчитано", "en": "computed"},
    "provisional": {"kk": "алдын ала", "ru": "предварительно", "en": "provisional"},
    "insufficient_sample": {
        "kk": "іріктеме жеткіліксіз",
        "ru": "недостаточная выборка",
        "en": "insufficient sample",
    },
    "missing": {"kk": "деректер жоқ", "ru": "нет данных", "en": "missing"},
    "not_applicable": {"kk": "қолданылмайды", "ru": "не применяется", "en": "not applicable"},
}
KIND_WORDS: Mapping[str, Mapping[str, str]] = {
    "central": {"kk": "орталық", "ru": "центральный", "en": "central"},
    "local": {"kk": "жергілікті", "ru": "местный", "en": "local"},
}


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


def reason_text(reason: str, language: str, labels: Mapping[str, str] | None = None) -> str:
    """A row's `reason` in words; node names become their labels when `labels` has them, and
    the kind a `kind:` reason names is said in the reader's language."""
    _language(language)
    words = []
    for item in filter(None, (part.strip() for part in str(reason or "").split(";"))):
        code, _, args = item.partition(":")
        said = dict(labels or {})
        if code == "kind":
            said |= {kind: names[language] for kind, names in KIND_WORDS.items()}
        names = [said.get(name, name) for name in args.split(",") if name]
        template = REASON_WORDS.get(code, {}).get(language, item)
        words.append(template.format(args=", ".join(names)))
    return "; ".join(words)


def status_text(status: str, language: str) -> str:
    """A status (`ok`, `provisional`, …) in the reader's language."""
    return STATUS_WORDS.get(status, {}).get(_language(language), status)


def _number(value: float) -> str:
    """Numbers as a person writes them to recompute: up to 6 significant decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    text = f"{value:.10g}"
    return text if "e" not in text else f"{value:.6e}"


def _substitute(expr: Expr, values: Mapping[str, float | None]) -> str:
    """The formula with each name replaced by its number (names without one stay names)."""
    if isinstance(expr, Number):
        return _number(expr.value)
    if isinstance(expr, Name):
        value = values.get(expr.name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return expr.name
        return f"({_number(value)})" if value < 0 else _number(value)
    if isinstance(expr, Negate):
        inner = _substitute(expr.operand, values)
        return f"-({inner})" if isinstance(expr.operand, BinaryOp) else f"-{inner}"
    if isinstance(expr, Call):
        args = list(expr.args)
        head = [args[0].name] if expr.function == "lookup" and isinstance(args[0], Name) else []
        rest = args[1:] if head else args
        return f"{expr.function}({', '.join(head + [_substitute(a, values) for a in rest])})"
    precedence = {"+": 1, "-": 1, "*": 2, "/": 2}
    left, right = _substitute(expr.left, values), _substitute(expr.right, values)
    if isinstance(expr.left, BinaryOp) and precedence[expr.left.op] < precedence[expr.op]:
        left = f"({left})"
    if isinstance(expr.right, BinaryOp) and precedence[expr.right.op] <= precedence[expr.op]:
        right = f"({right})"
    return f"{left} {expr.op} {right}"


def _source(node: Node, language: str) -> str:
    return " | ".join(dict.fromkeys(node.source_texts.get(language, {}).values()))


def explain(
    methodology: Methodology,
    scores: pd.DataFrame,
    inputs: pd.DataFrame | None,
    agency: str,
    period: str,
    language: str = "en",
    kind: str | None = None,
) -> pd.DataFrame:
    """One agency's tree for one period, node by node, with the numbers behind each figure.

    `kind` (`central` / `local`) picks the weights; by default it is read off the scores (a
    node that applies to one kind only tells it). Columns: EXPLAIN_COLUMNS (module docstring).
    """
    _language(language)
    rows = scores.loc[
        (scores["agency"].astype(str) == str(agency)) & (scores["period"].astype(str) == period)
    ]
    if rows.empty:
        raise KeyError(f"no scores of {agency} for {period}")
    by_node: dict[str, dict[str, object]] = {
        str(row["node"]): {str(k): v for k, v in row.items()}
        for row in rows.to_dict(orient="records")
    }
    kind = kind or _kind_of(methodology, by_node)
    given: dict[str, float] = {}
    if inputs is not None and not inputs.empty:
        mine = inputs.loc[
            (inputs["agency"].astype(str) == str(agency)) & (inputs["period"].astype(str) == period)
        ]
        numbers = pd.to_numeric(mine["value"], errors="coerce")
        given = dict(zip(mine["input"].astype(str), numbers.astype("float64"), strict=True))
    values = {key: _float(row.get("value")) for key, row in by_node.items()}
    labels = {key: node.label[language] for key, node in methodology.nodes.items()}
    # a reason that names inputs says what each is, in the reader's words
    said = {
        name: f"«{spec.about_in(language).rstrip('.')}»"
        for name, spec in methodology.inputs.items()
    } | labels
    table = []
    for key, node in methodology.nodes.items():
        row = by_node.get(key, {})
        parent = node.parent
        in_weighted = parent is not None and methodology.nodes[parent].weighted
        weight = node.weights.get(kind, 0.0) if kind and in_weighted else None
        share = _share(methodology, key, kind, by_node) if parent else 1.0
        formula, substituted, read = _formula_texts(methodology, node, kind, values, given)
        table.append(
            {
                "node": key,
                "parent": parent or "",
                "depth": node.depth,
                "label": labels[key],
                "graded": node.graded,
                "value": values.get(key),
                "grade": row.get("grade") if isinstance(row.get("grade"), str) else None,
                "status": str(row.get("status", "")),
                "n": row.get("n"),
                "ci_low": _float(row.get("ci_low")),
                "ci_high": _float(row.get("ci_high")),
                "weight": weight,
                "share": share,
                "formula": formula,
                "substituted": substituted,
                "clamp": f"[{_number(node.clamp[0])}, {_number(node.clamp[1])}]"
                if node.clamp
                else "",
                "inputs": read,
                "reason": reason_text(str(row.get("reason") or ""), language, said),
                "source": _source(node, language),
            }
        )
    frame = pd.DataFrame(table, columns=list(EXPLAIN_COLUMNS))
    frame["n"] = frame["n"].astype("Int64")
    for column in ("value", "ci_low", "ci_high", "weight", "share"):
        frame[column] = frame[column].astype("float64")
    return frame


def _float(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _kind_of(methodology: Methodology, by_node: Mapping[str, Mapping[str, object]]) -> str | None:
    """The body's kind, read off a node that applies to one kind only."""
    for key, node in methodology.nodes.items():
        if len(node.applies_to) != 1 or key not in by_node:
            continue
        reason = str(by_node[key].get("reason") or "")
        if reason.startswith("kind:"):
            return reason.removeprefix("kind:")
        if reason != "kind_unknown":
            (only,) = node.applies_to
            return only
    return None


def _share(
    methodology: Methodology,
    key: str,
    kind: str | None,
    by_node: Mapping[str, Mapping[str, object]],
) -> float | None:
    """The weight the node got after siblings without a value were left out (None if none)."""
    node = methodology.nodes[key]
    parent = methodology.nodes[str(node.parent)]
    if not parent.weighted or kind is None:
        return None
    if by_node.get(key, {}).get("status") not in ("ok", "provisional"):
        return 0.0
    counted = [
        methodology.nodes[sibling].weights.get(kind, 0.0)
        for sibling in parent.children
        if by_node.get(sibling, {}).get("status") in ("ok", "provisional")
    ]
    total = math.fsum(counted)
    return node.weights.get(kind, 0.0) / total if total > 0 else None


def _formula_texts(
    methodology: Methodology,
    node: Node,
    kind: str | None,
    values: Mapping[str, float | None],
    given: Mapping[str, float],
) -> tuple[str, str, str]:
    """(formula, substituted, inputs read) of a node."""
    if node.weighted:
        parts = [
            (child, methodology.nodes[child].weights.get(kind or "", 0.0))
            for child in node.children
        ]
        parts = [(child, weight) for child, weight in parts if weight > 0]
        formula = " + ".join(f"{_number(weight)}·{child}" for child, weight in parts)
        known = [(child, w) for child, w in parts if values.get(child) is not None]
        total = math.fsum(w for _, w in known)
        if not known or total <= 0:
            return formula, "", ""
        numerator = " + ".join(f"{_number(w)} * {_number(values[c] or 0.0)}" for c, w in known)
        return formula, f"({numerator}) / {_number(total)}", ""
    assert node.formula is not None
    names = sorted({ref.name for ref in formulas.references(node.formula)})
    numbers: dict[str, float | None] = {}
    read = []
    for name in names:
        if name in methodology.constants:
            numbers[name] = methodology.constants[name]
        elif name in methodology.nodes:
            numbers[name] = values.get(name)
        else:
            numbers[name] = given.get(name)
            read.append(f"{name} = {_number(given[name]) if name in given else '?'}")
            sample = methodology.inputs[name].sample if name in methodology.inputs else None
            if sample and sample in given:
                read.append(f"{sample} = {_number(given[sample])}")
    return str(node.formula_text or ""), _substitute(node.formula, numbers), "; ".join(read)


def recompute(substituted: str, methodology: Methodology | None = None) -> float:
    """Evaluate an explanation's substituted formula (numbers only; step tables are the
    methodology's) with the formula language: what a reader checking the figure by hand gets."""
    expr = formulas.parse(substituted.replace("·", "*"))
    tables = methodology.tables if methodology is not None else {}
    return float(np.asarray(formulas.evaluate_arrays(expr, {}, tables, 1))[0])
