"""The one rule for agency-scoped data: an agency user reads only its own agency.

Every query that reads data belonging to an agency goes through `scope`, so a changed id in a
URL or a filter finds nothing (and the page answers 404), never another agency's figures."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from core.models import AdminRole

T = TypeVar("T", bound=tuple[Any, ...])


class Reader(Protocol):
    @property
    def role(self) -> AdminRole: ...
    @property
    def agency_id(self) -> int | None: ...


def scope(
    statement: Select[T], reader: Reader, agency_column: InstrumentedAttribute[int]
) -> Select[T]:
    """`statement` limited to what `reader` may see; `agency_column` says whose a row is.
    An agency user without an agency (a broken row) sees nothing."""
    if reader.role is AdminRole.AGENCY:
        return statement.where(agency_column == reader.agency_id)
    return statement
