"""POST /api/v1/service-events: one event or a batch of up to 1,000, all or nothing.

The checks, in the order they run: the key (401), the media type (415), the body's size
(413), the signature (401/409), the body's bytes and JSON (400), its
fields (422), what its codes name (422), the key's agencies (403), external ids already used
by other events (409). Only then is anything written, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.api import auth
from admin.api.errors import ApiError, path_of, validation_failed
from admin.api.schemas import (
    MAX_BATCH,
    EventResultKind,
    ServiceEventBatch,
    ServiceEventIn,
    TelegramRefKind,
)
from core import apikeys, chat_links, intake
from core.identity import SecretBox
from core.models import ApiKey, DeliveryChannel

OFFICE_REQUIRED = {DeliveryChannel.SERVICE_CENTRE, DeliveryChannel.AGENCY_OFFICE}


@dataclass(frozen=True)
class ApiContext:
    """What the API's handlers share; built once by `setup_api`."""

    session_factory: async_sessionmaker[AsyncSession]
    intake: intake.Intake
    server_secret: bytes
    signing_box: SecretBox
    seen_signatures: auth.SeenSignatures
    survey_ttl_hours: Mapping[str, int]
    default_survey: str
    public_url: str
    bot_username: str
    max_body_bytes: int


API_CONTEXT = web.AppKey("api_context", ApiContext)


async def post_service_events(request: web.Request) -> web.Response:
    context = request.app[API_CONTEXT]
    try:
        async with context.session_factory() as session:
            api_key = await auth.authenticate(session, request)
            await apikeys.mark_used(session, api_key)
            await session.commit()  # the key's use counts, whatever becomes of the batch
            _check_media_type(request)
            body = await _read_body(request, context.max_body_bytes)
            await auth.check_signature(
                request, api_key, body, context.signing_box, context.seen_signatures
            )
            events, single = parse_events(body)
            incoming, refs = await _resolve(session, context, api_key, events, single)
            try:
                results = await context.intake.record(session, incoming)
                await session.commit()  # the batch, the key's use: all or nothing
            except intake.ConflictingEvents as conflict:
                await session.rollback()
                raise ApiError(
                    409,
                    "external_id_conflict",
                    "an external id is already used by an event of another service or office",
                    [
                        (
                            _prefix(item.index, single) + "external_id",
                            "already used by an "
                            "event of another service or office; external ids must be unique",
                        )
                        for item in conflict.conflicts
                    ],
                ) from None
    except OperationalError:
        raise ApiError(
            503, "unavailable", "the database is unavailable; nothing was recorded, retry later"
        ) from None
    answer = [
        _result(context, event, result, refs) for event, result in zip(events, results, strict=True)
    ]
    created = sum(1 for item in answer if item["result"] == EventResultKind.CREATED)
    return web.json_response(
        {"events": answer, "created": created, "duplicates": len(answer) - created},
        status=201 if created else 200,
    )


def _check_media_type(request: web.Request) -> None:
    charset = (request.charset or "utf-8").lower()
    if request.content_type != "application/json" or charset not in {"utf-8", "utf8"}:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as JSON: 'Content-Type: application/json' (UTF-8)",
        )


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_large = ApiError(
        413,
        "body_too_large",
        f"the body is over {limit} bytes; send at most {MAX_BATCH} events per request",
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_events(body: bytes) -> tuple[list[ServiceEventIn], bool]:
    """The events of a body, and whether it was a single event (not a batch)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(
            400, "not_utf8", f"the body is not UTF-8 text (invalid byte at offset {error.start})"
        ) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ApiError(400, "not_json", f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise validation_failed([("body", 'must be an object: one event, or {"events": [...]}')])
    single = "events" not in data
    if not single and isinstance(data["events"], list) and len(data["events"]) > MAX_BATCH:
        raise ApiError(
            413,
            "batch_too_large",
            f"{len(data['events'])} events in one request; send at most {MAX_BATCH}",
            [("events", f"has {len(data['events'])} items, at most {MAX_BATCH} are allowed")],
        )
    try:
        if single:
            events = [ServiceEventIn.model_validate(data)]
        else:
            events = list(ServiceEventBatch.model_validate(data).events)
    except ValidationError as error:
        raise validation_failed(
            [(path_of(item["loc"]), _reason(item)) for item in error.errors(include_url=False)]
        ) from None
    first_at: dict[str, int] = {}
    repeats = []
    for index, event in enumerate(events):
        if event.external_id in first_at:
            repeats.append(
                (
                    f"events[{index}].external_id",
                    f"repeats events[{first_at[event.external_id]}].external_id "
                    f"'{event.external_id}'; each event once per batch",
                )
            )
        else:
            first_at[event.external_id] = index
    if repeats:
        raise validation_failed(repeats)
    return events, single


_REASONS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of a service event",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _reason(item: Mapping[str, Any]) -> str:
    reason = _REASONS.get(str(item["type"]))
    if reason:
        return reason
    message = str(item["msg"])
    return message[:1].lower() + message[1:]


def _prefix(index: int, single: bool) -> str:
    return "" if single else f"events[{index}]."


async def _resolve(
    session: AsyncSession,
    context: ApiContext,
    api_key: ApiKey,
    events: Sequence[ServiceEventIn],
    single: bool,
) -> tuple[list[intake.IncomingEvent], dict[str, int]]:
    """Codes to rows (422 for unknown ones), the key's scope (403), chat references."""
    catalogue = await intake.catalogue(
        session,
        {event.agency_code for event in events},
        {event.service_code for event in events},
        {event.office_code for event in events if event.office_code is not None},
    )
    problems: list[tuple[str, str]] = []
    for index, event in enumerate(events):
        at = _prefix(index, single)
        agency = catalogue.agencies.get(event.agency_code)
        service = catalogue.services.get(event.service_code)
        if agency is None:
            problems.append((at + "agency_code", f"unknown agency '{event.agency_code}'"))
        if service is None:
            problems.append((at + "service_code", f"unknown service '{event.service_code}'"))
        elif agency is not None and service.agency_id != agency.id:
            problems.append(
                (
                    at + "service_code",
                    f"service '{event.service_code}' is not a service of agency "
                    f"'{event.agency_code}'",
                )
            )
        office = catalogue.offices.get(event.office_code) if event.office_code else None
        if event.office_code is not None and office is None:
            problems.append((at + "office_code", f"unknown office '{event.office_code}'"))
        elif office is not None and agency is not None and office.agency_id != agency.id:
            # A key scoped to one agency must not place events at another agency's offices.
            problems.append(
                (
                    at + "office_code",
                    f"office '{event.office_code}' is not an office of agency "
                    f"'{event.agency_code}'",
                )
            )
        if event.office_code is None and event.channel in OFFICE_REQUIRED:
            problems.append((at + "office_code", f"is required for channel '{event.channel}'"))
    if problems:
        raise validation_failed(problems)
    forbidden = [
        (
            _prefix(index, single) + "agency_code",
            f"this API key may not report events of agency '{event.agency_code}'",
        )
        for index, event in enumerate(events)
        if not api_key.allows(event.agency_code)
    ]
    if forbidden:
        raise ApiError(
            403,
            "agency_not_allowed",
            f"the API key '{api_key.name}' is not allowed for an agency in this request",
            forbidden,
        )
    refs = await chat_links.resolve(
        session, context.server_secret, [e.telegram_ref for e in events if e.telegram_ref]
    )
    # Plain values per code, read once: a batch names few services and offices.
    services = {
        code: (
            service.id,
            service.agency_id,
            service.survey_id,
            context.survey_ttl_hours.get(service.survey_id)
            or context.survey_ttl_hours[context.default_survey],
            max(1, service.invitation_sample_every),
        )
        for code, service in catalogue.services.items()
    }
    offices = {code: office.id for code, office in catalogue.offices.items()}
    incoming = []
    for event in events:
        service_id, agency_id, survey_id, ttl_hours, sample_every = services[event.service_code]
        incoming.append(
            intake.IncomingEvent(
                external_id=event.external_id,
                agency_id=agency_id,
                service_id=service_id,
                service_point_id=offices[event.office_code] if event.office_code else None,
                channel=event.channel,
                delivered_at=event.delivered_at,
                survey_id=survey_id,
                ttl_hours=ttl_hours,
                sample_every=sample_every,
                respondent_id=refs.get(event.telegram_ref) if event.telegram_ref else None,
                api_key_id=api_key.id,
            )
        )
    return incoming, refs


def _result(
    context: ApiContext,
    event: ServiceEventIn,
    result: intake.EventResult,
    refs: Mapping[str, int],
) -> dict[str, Any]:
    url = f"{context.public_url}/s/{result.token}" if result.token else None
    # The same answer whether or not the code names a citizen: the API is no way to test
    # /link codes.
    ref = TelegramRefKind.RECEIVED.value if event.telegram_ref else None
    return {
        "external_id": result.external_id,
        "result": (EventResultKind.CREATED if result.created else EventResultKind.DUPLICATE).value,
        "invitation": result.outcome.value,
        "survey_url": url,
        "qr_payload": url,
        "telegram_url": (
            f"https://t.me/{context.bot_username}?start={result.token}" if result.token else None
        ),
        "expires_at": result.expires_at.isoformat() if result.expires_at else None,
        "telegram_ref": ref,
    }
