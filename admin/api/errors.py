"""Refusals as JSON: every 4xx of the API has a code, a message and, for fields, their paths."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """Raised anywhere in a request; the error middleware turns it into its JSON answer."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        problems: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = [{"path": path, "reason": reason} for path, reason in problems]
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = {"error": self.error, "message": self.message, "problems": self.problems}
        return web.json_response(body, status=self.status, headers=self.headers, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value)  # ASCII escapes: any text, even a lone surrogate, can be sent


def path_of(location: Sequence[str | int]) -> str:
    """A pydantic location as people write it: ('events', 3, 'delivered_at') ->
    events[3].delivered_at; the body itself is `body`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def validation_failed(problems: Sequence[tuple[str, str]], message: str | None = None) -> ApiError:
    first = f"{problems[0][0]}: {problems[0][1]}" if problems else "the body is not valid"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ApiError(422, "validation_failed", message or first + more, problems)
