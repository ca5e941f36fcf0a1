"""What the integration API accepts and answers, as pydantic models: they validate requests
and are the source of the OpenAPI document's schemas, so the two cannot drift apart."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from core.models import DeliveryChannel

MAX_BATCH = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks of delivery systems drift a little

DATETIME_EXAMPLE = "2026-12-01T10:15:00+05:00"
_NOT_A_DATETIME = "not an ISO 8601 date-time with offset, e.g. " + DATETIME_EXAMPLE


def _delivered_at(value: Any) -> datetime:
    # Only a string: a bare number would be taken as a Unix time by lax parsing.
    if not isinstance(value, str) or len(value) > 40:
        raise PydanticCustomError("datetime_with_offset", _NOT_A_DATETIME)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("datetime_with_offset", _NOT_A_DATETIME) from None
    if moment.tzinfo is None or moment.utcoffset() is None or "T" not in value.upper():
        raise PydanticCustomError("datetime_with_offset", _NOT_A_DATETIME)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PydanticCustomError("datetime_range", "is out of range") from None
    if moment < EARLIEST:
        raise PydanticCustomError("datetime_range", "is before 2000-01-01")
    if moment > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise PydanticCustomError("datetime_range", "is in the future")
    return moment


DeliveredAt = Annotated[
    datetime,
    BeforeValidator(_delivered_at),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "When the service was delivered: ISO 8601 with a UTC offset "
            "(`+05:00` or `Z`), not in the future, not before 2000.",
            "examples": [DATETIME_EXAMPLE],
        }
    ),
]

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceEventIn(_Strict):
    """One delivered service, reported by the system that delivered it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "external_id": "ala-con-2026-000123",
                    "agency_code": "ALA",
                    "service_code": "ALA-S1",
                    "office_code": "ALA-01",
                    "channel": "service_centre",
                    "delivered_at": DATETIME_EXAMPLE,
                }
            ]
        },
    )

    external_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="The sender's own id of this delivery (printable ASCII, no spaces). "
        "Sending the same id again is the same event: nothing is created twice.",
    )
    agency_code: Code = Field(description="The agency whose service it was.")
    service_code: Code = Field(description="The public service; it must be of that agency.")
    office_code: Code | None = Field(
        default=None,
        description="The office where it was delivered; required for `service_centre` and "
        "`agency_office`, optional for `egov` and `proactive`.",
    )
    channel: DeliveryChannel = Field(description="How the service was delivered.")
    delivered_at: DeliveredAt
    telegram_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="The code a citizen got from the bot with /link, if they gave one: the "
        "invitation then goes to them in Telegram. An unknown code does not refuse the event.",
    )


class ServiceEventBatch(_Strict):
    """Up to 1,000 events, accepted or refused together."""

    events: list[ServiceEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventResultKind(enum.StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"


class InvitationKind(enum.StrEnum):
    ISSUED = "issued"
    NOT_SAMPLED = "not_sampled"
    COOLDOWN = "cooldown"
    WITHHELD = "withheld"


class TelegramRefKind(enum.StrEnum):
    RECEIVED = "received"


class EventResultOut(_Strict):
    """What became of one event."""

    external_id: str
    result: EventResultKind = Field(
        description="`created`, or `duplicate` when this external id was seen before (the "
        "first answer is repeated, nothing new is created)."
    )
    invitation: InvitationKind = Field(
        description="`issued`; `not_sampled` (this service invites 1 in N events); `cooldown` "
        "(the citizen was invited recently); `withheld` (a duplicate of an event another API "
        "key reported: its invitation is that key's, no link is given)."
    )
    survey_url: str | None = Field(
        description="The single-use survey link, when an invitation was issued."
    )
    qr_payload: str | None = Field(
        description="What to encode in the QR code printed on the receipt (the survey link)."
    )
    telegram_url: str | None = Field(description="The same invitation as a Telegram deep link.")
    expires_at: datetime | None = Field(description="When the link stops working.")
    telegram_ref: TelegramRefKind | None = Field(
        description="`received` when a `telegram_ref` was given (null: none was given). "
        "When the code names a citizen who linked their chat, the invitation is also sent to "
        "them in Telegram; the answer does not say whether it did, so codes cannot be tested."
    )


class EventsAccepted(_Strict):
    """The batch was accepted; one result per event, in the order sent."""

    events: list[EventResultOut]
    created: int = Field(ge=0)
    duplicates: int = Field(ge=0)


class Problem(_Strict):
    path: str = Field(description="Where in the body, e.g. `events[3].delivered_at`.")
    reason: str


class ErrorBody(_Strict):
    """Every refusal: a machine-readable code, a sentence for people, and for bad fields the
    path and reason of each."""

    error: str = Field(description="A stable code, e.g. `invalid_api_key`, `validation_failed`.")
    message: str
    problems: list[Problem] = Field(default_factory=list)
