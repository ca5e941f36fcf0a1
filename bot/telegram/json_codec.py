"""JSON for the Bot API, both ways: every update is parsed, and every card sent, as JSON.
orjson does it several times faster than the standard library; the standard library takes
what orjson refuses (a lone surrogate escape in a citizen's text, an integer beyond 64 bits),
so no input is parsed differently or refused because of the faster path."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(document: str | bytes) -> Any:
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        return json.loads(document)  # raises as before on what is not JSON at all


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
