"""The responses explorer: completed responses one by one, filtered, newest first.

By design this reads raw responses (it is an explorer), through indexes on `completed_at` and
on (service, completed_at) and (office, completed_at), a page at a time with no total count;
scores and dashboards still read rollups. Every query is narrowed by `scope`, so an agency user
finds only its own agency's responses whatever the filters say. What leaves here is anonymous:
the day, not the time; free text scrubbed of personal data; no respondent, no invitation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from admin.survey_questions import SurveyQuestions
from core.clock import REPORTING_TZ, reporting_day
from core.models import (
    Agency,
    Answer,
    Channel,
    PublicService,
    Response,
    ResponseFlag,
    ResponseStatus,
    ServicePoint,
)
from scoring.privacy import scrub

SCORES = ("1", "2", "3", "4", "5")
LANGUAGES = ("kk", "ru", "en")


@dataclass(frozen=True)
class ResponseFilter:
    since: date | None = None
    region: str | None = None
    agency_id: int | None = None
    service_id: int | None = None
    office_id: int | None = None
    channel: Channel | None = None
    language: str | None = None
    score: str | None = None  # a satisfaction value, "1".."5"
    flagged: bool | None = None  # None: both


@dataclass
class ExploredResponse:
    response_id: int
    day: date
    agency: str
    service: str
    office: str
    channel: str
    language: str
    walk_in: bool
    score: str | None = None
    comment: str = ""
    answers: list[tuple[str, str]] = field(default_factory=list)
    flags: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)


def _shown(value: Any, scrubbed: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(v, scrubbed) for v in value)
    text = str(value)
    return scrub(text) if scrubbed else text


async def explore(
    db: AsyncSession,
    reader: Reader,
    chosen: ResponseFilter,
    questions: SurveyQuestions,
    lang: str,
    *,
    limit: int,
    offset: int = 0,
    with_flags: bool = True,
) -> list[ExploredResponse]:
    """Up to `limit` responses after `offset`, newest first. `with_flags`: show anti-gaming
    flags and allow filtering by them (analysts and admins)."""
    name = {"kk": "name_kk", "ru": "name_ru"}.get(lang, "name_en")
    statement = (
        select(
            Response.id,
            Response.completed_at,
            Response.channel,
            Response.language,
            Response.walk_in,
            Agency.code,
            getattr(PublicService, name),
            getattr(ServicePoint, name),
        )
        .join(PublicService, PublicService.id == Response.service_id)
        .join(Agency, Agency.id == PublicService.agency_id)
        .outerjoin(ServicePoint, ServicePoint.id == Response.service_point_id)
        .where(Response.status == ResponseStatus.COMPLETED, Response.completed_at.is_not(None))
    )
    if chosen.since is not None:
        start = datetime.combine(chosen.since, time(), REPORTING_TZ)
        statement = statement.where(Response.completed_at >= start)
    if chosen.region:
        statement = statement.where(
            or_(ServicePoint.region == chosen.region, Agency.region == chosen.region)
        )
    if chosen.agency_id is not None:
        statement = statement.where(PublicService.agency_id == chosen.agency_id)
    if chosen.service_id is not None:
        statement = statement.where(Response.service_id == chosen.service_id)
    if chosen.office_id is not None:
        statement = statement.where(Response.service_point_id == chosen.office_id)
    if chosen.channel is not None:
        statement = statement.where(Response.channel == chosen.channel)
    if chosen.language:
        statement = statement.where(Response.language == chosen.language)
    rating_questions = sorted(questions.named("satisfaction"))
    if chosen.score:
        # JSON 5 (a rating) reads "5" as text on both SQLite and PostgreSQL; '"5"' if a string
        statement = statement.where(
            exists().where(
                Answer.response_id == Response.id,
                Answer.question.in_(rating_questions),
                cast(Answer.value, String).in_([chosen.score, f'"{chosen.score}"']),
            )
        )
    if with_flags and chosen.flagged is not None:
        flagged = exists().where(ResponseFlag.response_id == Response.id)
        statement = statement.where(flagged if chosen.flagged else ~flagged)
    statement = scope(statement, reader, PublicService.agency_id)
    rows = (
        await db.execute(
            statement.order_by(Response.completed_at.desc(), Response.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).tuples()
    found = {
        row[0]: ExploredResponse(
            response_id=row[0],
            day=reporting_day(row[1]),
            agency=row[5],
            service=row[6],
            office=row[7] or "",
            channel=row[2].value,
            language=row[3],
            walk_in=bool(row[4]),
        )
        for row in rows
    }
    if not found:
        return []
    comments = questions.named("comment")
    answers = await db.execute(
        select(Answer.response_id, Answer.question, Answer.value)
        .where(Answer.response_id.in_(list(found)))
        .order_by(Answer.response_id, Answer.id)
    )
    for response_id, question, value in answers.tuples():
        item = found[response_id]
        text = _shown(value, question in questions.text_questions)
        if question in comments:
            item.comment = text
        elif text:
            # the question and the choice in the reader's words, never codes or True/False
            shown = text if question in questions.text_questions else None
            item.answers.append(
                (
                    questions.question_label(question, lang),
                    shown or questions.value_label(question, value, lang),
                )
            )
        if question in rating_questions and value is not None:
            item.score = str(value)
    if with_flags:
        flags: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for response_id, reason, detail in (
            await db.execute(
                select(ResponseFlag.response_id, ResponseFlag.reason, ResponseFlag.detail)
                .where(ResponseFlag.response_id.in_(list(found)))
                .order_by(ResponseFlag.id)
            )
        ).tuples():
            flags[response_id].append((reason, detail))
        for response_id, items in flags.items():
            found[response_id].flags = items
    return list(found.values())


async def recent_comments(
    db: AsyncSession,
    reader: Reader,
    questions: SurveyQuestions,
    *,
    agency_id: int,
    service_id: int | None = None,
    office_id: int | None = None,
    since: date | None = None,
    limit: int = 10,
) -> list[tuple[date, str]]:
    """The latest non-empty comments of an agency (or one of its services or offices), scrubbed
    of personal data, with their day. Reads the comment answers through the response indexes."""
    names = sorted(questions.named("comment"))
    if not names:
        return []
    statement = (
        select(Response.completed_at, Answer.value)
        .join(Answer, Answer.response_id == Response.id)
        .join(PublicService, PublicService.id == Response.service_id)
        .where(
            Response.status == ResponseStatus.COMPLETED,
            Response.completed_at.is_not(None),
            PublicService.agency_id == agency_id,
            Answer.question.in_(names),
            Answer.value.is_not(None),
        )
    )
    if service_id is not None:
        statement = statement.where(Response.service_id == service_id)
    if office_id is not None:
        statement = statement.where(Response.service_point_id == office_id)
    if since is not None:
        statement = statement.where(
            Response.completed_at >= datetime.combine(since, time(), REPORTING_TZ)
        )
    statement = scope(statement, reader, PublicService.agency_id)
    found = []
    rows = await db.execute(
        statement.order_by(Response.completed_at.desc(), Response.id.desc()).limit(limit * 3)
    )
    for completed_at, value in rows.tuples():
        text = scrub(str(value)).strip() if value is not None else ""
        if text:
            found.append((reporting_day(completed_at), text))
        if len(found) == limit:
            break
    return found


class NotVisible(Exception):
    """A filter names an agency, service or office the reader may not see (or none such)."""


async def visible_id(
    db: AsyncSession,
    reader: Reader,
    model: type[Agency] | type[PublicService] | type[ServicePoint],
    code: str,
) -> int | None:
    """The id of the agency, service or office with `code` if `reader` may see it; None for no
    code; NotVisible otherwise."""
    if not code:
        return None
    column = Agency.id if model is Agency else model.agency_id  # type: ignore[union-attr]
    found = await db.scalar(scope(select(model.id).where(model.code == code), reader, column))
    if found is None:
        raise NotVisible
    return int(found)


@dataclass(frozen=True)
class FilterChoices:
    """What the explorer's filters offer the reader."""

    regions: list[str]
    agencies: list[Agency]
    services: list[PublicService]
    offices: list[ServicePoint]


async def filter_choices(db: AsyncSession, reader: Reader, agency_id: int | None) -> FilterChoices:
    """The regions, agencies, and (of the chosen agency, if any) services and offices."""
    from admin.figures import regions

    agencies = list(
        await db.scalars(scope(select(Agency).order_by(Agency.code), reader, Agency.id))
    )
    services_query = select(PublicService).order_by(PublicService.code)
    offices_query = select(ServicePoint).order_by(ServicePoint.code)
    if agency_id is not None:
        services_query = services_query.where(PublicService.agency_id == agency_id)
        offices_query = offices_query.where(ServicePoint.agency_id == agency_id)
    return FilterChoices(
        regions=await regions(db, reader),
        agencies=agencies,
        services=list(await db.scalars(scope(services_query, reader, PublicService.agency_id))),
        offices=list(await db.scalars(scope(offices_query, reader, ServicePoint.agency_id))),
    )
