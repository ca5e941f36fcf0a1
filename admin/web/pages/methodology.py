"""The methodologies in plain words, read from the shipped methodology files themselves: what
each direction measures, its weight (and its share of the total), formula, sources and
assumptions; and what proposed-s30 changes against kz-2020. Open to every signed-in user: an
agency should be able to read the rules it is judged by."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from admin import standings
from admin.standings import PUBLISHED, effective_weight
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import lang_of
from admin.web.render import page
from core import language
from scoring import Methodology
from scoring.model import KINDS, Node
from scoring.sources import source_words


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/methodology", methodology_page, name="methodology")


@dataclass(frozen=True)
class Change:
    """A node as the two methodologies differ on it."""

    key: str
    label: str
    what: str  # only_a | only_b | weight | formula
    before: str
    after: str


def weights_text(node: Node, lang: str = "en") -> str:
    """`0.45` when both kinds weigh the same, else `central 0.3333 · local 0.5`."""
    if not node.weights:
        return ""
    values = {kind: node.weights[kind] for kind in KINDS if kind in node.weights}
    if len(set(values.values())) == 1 and len(values) == len(KINDS):
        return number_text(next(iter(values.values())), lang)
    return " · ".join(
        f"{words.say(f'kind_short_{kind}', lang)} {number_text(value, lang)}"
        for kind, value in values.items()
    )


def number_text(value: float, lang: str = "en") -> str:
    """A weight as the language writes decimals: 0.135 (en), 0,135 (kk, ru)."""
    return language.number(value, lang, digits=4)


def shares_of_total(method: Methodology, key: str) -> dict[str, float | None]:
    return {kind: effective_weight(method, key, kind) for kind in KINDS}


def differences(a: Methodology, b: Methodology, lang: str) -> list[Change]:
    """Which nodes one has and the other not, and where weights or formulas changed."""
    changes = []
    for key, node in b.nodes.items():
        if key not in a.nodes:
            changes.append(Change(key, node.label[lang], "only_b", "", node.formula_text or ""))
            continue
        old = a.nodes[key]
        if dict(old.weights) != dict(node.weights):
            changes.append(
                Change(
                    key,
                    node.label[lang],
                    "weight",
                    weights_text(old, lang),
                    weights_text(node, lang),
                )
            )
        if (old.formula_text or "") != (node.formula_text or ""):
            changes.append(
                Change(
                    key,
                    node.label[lang],
                    "formula",
                    old.formula_text or "",
                    node.formula_text or "",
                )
            )
        elif old.label[lang] != node.label[lang]:
            changes.append(
                Change(key, node.label[lang], "label", old.label[lang], node.label[lang])
            )
    changes += [
        Change(key, node.label[lang], "only_a", node.formula_text or "", "")
        for key, node in a.nodes.items()
        if key not in b.nodes
    ]
    return changes


@allow(EVERYONE)
async def methodology_page(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    methods = [standings.methodology(name) for name in PUBLISHED]
    current, proposed = methods
    s_share = shares_of_total(proposed, standings.SATISFACTION)
    k1_share = shares_of_total(current, standings.SATISFACTION)
    return page(
        request,
        "methodology.html",
        {
            "methods": methods,
            "kinds": KINDS,
            "weights_text": lambda node: weights_text(node, lang),
            "source_text": lambda text: source_words(text, lang),
            "share_text": lambda value: "—" if value is None else number_text(value, lang),
            "shares_of_total": shares_of_total,
            "changes": differences(current, proposed, lang),
            "current": current,
            "proposed": proposed,
            "s_share": s_share,
            "k1_share": k1_share,
            "s_weight": proposed.nodes[standings.SATISFACTION].weights.get("central"),
            "block_weight": proposed.nodes["interaction"].weights.get("central"),
        },
    )
