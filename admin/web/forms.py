"""Text fields of the admin's forms, read so that no input can break a query: a value that is
not text, or that carries control characters (a NUL is refused by PostgreSQL itself), reads
as empty, which each form then refuses with its own message."""

from __future__ import annotations

import re
from typing import Any

from multidict import MultiDictProxy

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean(value: object, limit: int) -> str:
    """`value` stripped and cut to `limit`, or "" when it is not usable text."""
    if not isinstance(value, str) or _CONTROL.search(value):
        return ""
    return value.strip()[:limit]


def form_text(form: MultiDictProxy[Any], name: str, limit: int) -> str:
    return clean(form.get(name, ""), limit)


def form_texts(form: MultiDictProxy[Any], name: str, limit: int) -> list[str] | None:
    """Every non-empty value of a repeated field; None when one of them is not usable text."""
    values = [clean(value, limit) for value in form.getall(name, [])]
    if any(not value and raw for value, raw in zip(values, form.getall(name, []), strict=True)):
        return None
    return [value for value in values if value]


ROW_ID_MAX = 2**31 - 1  # the database's integer columns; a larger id names no row


def form_id(form: MultiDictProxy[Any], name: str) -> int | None:
    """A row id posted in `name`, or None when it cannot name a row (not digits, too long)."""
    text = form_text(form, name, 12)
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= ROW_ID_MAX else None
