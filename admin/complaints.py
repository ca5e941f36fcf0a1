"""Complaints as the agency side sees them: scoped to the reader's agency, and never with the
citizen's identity (the queries select named columns, and the complaint row, when loaded to
change it, refuses to load its respondent link)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer, raiseload

from admin.scope import Reader, scope
from admin.survey_questions import SurveyQuestions
from core.clock import reporting_day
from core.complaints import OPEN_STATUSES, parse_reference
from core.models import (
    Agency,
    Answer,
    Channel,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    ComplaintStatusChange,
    Dataset,
    DatasetProblem,
    DatasetRating,
    PublicService,
    Response,
    ServicePoint,
)
from scoring.privacy import scrub


@dataclass(frozen=True)
class ComplaintView:
    reference: str
    agency_code: str
    agency_name: str
    # the service, or for a data set's problem report the data set's title
    service_name: str
    office_name: str | None
    category: ComplaintCategory | None
    status: ComplaintStatus
    language: str
    received_at: datetime | None
    deadline: date | None
    answered_at: datetime | None
    text: str | None
    answer_text: str | None
    answer_rating: int | None
    problem: DatasetProblem | None  # set only on a data set's problem report
    consent_to_answer: bool | None
    # where the citizen filed it: the rated response's channel, or the data-set rating's
    survey_channel: Channel | None
    rating_channel: Channel | None
    overdue: bool

    @property
    def about_dataset(self) -> bool:
        return self.problem is not None

    @property
    def reply_channel(self) -> str:
        """Where the agency's answer reaches the citizen: `web` (their complaint's page only),
        `telegram` (the chat, and the Mini App's page) or `none` (they asked for no answer;
        a web page still shows one)."""
        channel = self.survey_channel or self.rating_channel
        if channel in (Channel.TELEGRAM, Channel.MINI_APP):
            return "telegram" if self.consent_to_answer else "none"
        return "web"


@dataclass(frozen=True)
class Filters:
    agency_code: str = ""
    status: ComplaintStatus | None = None
    category: ComplaintCategory | None = None
    overdue: bool = False


def _select(lang: str) -> Select[tuple[object, ...]]:
    office = aliased(ServicePoint)
    return (
        select(
            Complaint.reference,
            Agency.code,
            getattr(Agency, f"name_{lang}"),
            # a problem report has a data set instead of a service
            func.coalesce(
                getattr(PublicService, f"name_{lang}"),
                func.coalesce(getattr(Dataset, f"title_{lang}"), Dataset.title_ru),
            ),
            getattr(office, f"name_{lang}"),
            Complaint.category,
            Complaint.status,
            Complaint.language,
            Complaint.received_at,
            Complaint.deadline,
            Complaint.answered_at,
            Complaint.text,
            Complaint.answer_text,
            Complaint.answer_rating,
            Complaint.problem,
            Complaint.consent_to_answer,
            Response.channel,
            DatasetRating.channel,
        )
        .join(Agency, Agency.id == Complaint.agency_id)
        .outerjoin(Response, Response.id == Complaint.response_id)
        .outerjoin(DatasetRating, DatasetRating.id == Complaint.dataset_rating_id)
        .outerjoin(PublicService, PublicService.id == Complaint.service_id)
        .outerjoin(Dataset, Dataset.id == Complaint.dataset_id)
        .outerjoin(office, office.id == Complaint.service_point_id)
        .where(Complaint.status != ComplaintStatus.DRAFT)
    )


def _view(row: tuple[object, ...], today: date) -> ComplaintView:
    values: list[Any] = list(row)
    status, deadline = values[6], values[9]
    overdue = status in OPEN_STATUSES and isinstance(deadline, date) and deadline < today
    names = [f.name for f in fields(ComplaintView) if f.name != "overdue"]
    return ComplaintView(**dict(zip(names, values, strict=True)), overdue=overdue)


async def complaint_list(
    db: AsyncSession, reader: Reader, filters: Filters, lang: str, today: date, limit: int = 500
) -> list[ComplaintView]:
    query = scope(_select(lang), reader, Complaint.agency_id)
    if filters.agency_code:
        query = query.where(Agency.code == filters.agency_code)
    if filters.status is not None:
        query = query.where(Complaint.status == filters.status)
    if filters.category is not None:
        query = query.where(Complaint.category == filters.category)
    if filters.overdue:
        query = query.where(Complaint.status.in_(OPEN_STATUSES), Complaint.deadline < today)
    rows = await db.execute(query.order_by(Complaint.received_at.desc()).limit(limit))
    return [_view(tuple(row), today) for row in rows]


async def complaint_view(
    db: AsyncSession, reader: Reader, reference: str, lang: str, today: date
) -> ComplaintView | None:
    """One complaint the reader may see; a forged, unknown or other agency's reference: None."""
    parsed = parse_reference(reference)
    if parsed is None:
        return None
    query = scope(_select(lang), reader, Complaint.agency_id).where(Complaint.reference == parsed)
    row = (await db.execute(query)).first()
    return _view(tuple(row), today) if row is not None else None


async def complaint_to_change(db: AsyncSession, reader: Reader, reference: str) -> Complaint | None:
    """The complaint row to move along its lifecycle, without its respondent link."""
    parsed = parse_reference(reference)
    if parsed is None:
        return None
    query = scope(
        select(Complaint).where(
            Complaint.reference == parsed, Complaint.status != ComplaintStatus.DRAFT
        ),
        reader,
        Complaint.agency_id,
    ).options(defer(Complaint.respondent_id, raiseload=True), raiseload("*"))
    found: Complaint | None = await db.scalar(query)
    return found


async def status_history(
    db: AsyncSession, reader: Reader, reference: str
) -> list[tuple[ComplaintStatus, datetime, str]]:
    parsed = parse_reference(reference) or ""
    query = scope(
        select(ComplaintStatusChange.status, ComplaintStatusChange.at, ComplaintStatusChange.actor)
        .join(Complaint, Complaint.id == ComplaintStatusChange.complaint_id)
        .where(Complaint.reference == parsed),
        reader,
        Complaint.agency_id,
    ).order_by(ComplaintStatusChange.at, ComplaintStatusChange.id)
    return [(row[0], row[1], row[2]) for row in await db.execute(query)]


async def survey_answers(
    db: AsyncSession, reader: Reader, reference: str, questions: SurveyQuestions, lang: str
) -> list[tuple[str, str]]:
    """The citizen's answers to the survey about the complained-of service, in the reader's
    words, free text scrubbed of personal data: (question, answer), in the order given."""
    parsed = parse_reference(reference) or ""
    query = scope(
        select(Answer.question, Answer.value)
        .join(Complaint, Complaint.response_id == Answer.response_id)
        .where(Complaint.reference == parsed, Complaint.status != ComplaintStatus.DRAFT),
        reader,
        Complaint.agency_id,
    ).order_by(Answer.answered_at, Answer.id)
    shown = []
    for question, value in (await db.execute(query)).tuples():
        if value is None:
            continue
        if question in questions.text_questions:
            text = scrub(str(value))
        else:
            text = questions.value_label(question, value, lang)
        shown.append((questions.question_label(question, lang), text))
    return shown


async def first_received(db: AsyncSession, reader: Reader, agency_id: int | None) -> date | None:
    """The day the earliest complaint the reader may see (of one agency, if given) came in."""
    query = scope(select(func.min(Complaint.received_at)), reader, Complaint.agency_id)
    if agency_id is not None:
        query = query.where(Complaint.agency_id == agency_id)
    found = await db.scalar(query)
    return reporting_day(found) if isinstance(found, datetime) else None


async def agency_codes(db: AsyncSession, reader: Reader) -> list[str]:
    rows = await db.scalars(scope(select(Agency.code), reader, Agency.id).order_by(Agency.code))
    return list(rows)
