"""Complaints, channel-free: filing (a draft stored at every step, so a restart resumes),
deadlines in working days, the status lifecycle with its history, and the frame the complaint
analytics read. The text the agency sees is scrubbed before it is stored: the scrubber is given
by the caller (core imports nothing of ours), and the raw text is never kept."""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from core.clock import reporting_day, utcnow
from core.models import (
    Agency,
    Complaint,
    ComplaintCategory,
    ComplaintNotice,
    ComplaintRequest,
    ComplaintStatus,
    ComplaintStatusChange,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServicePoint,
)
from core.working_days import HolidayCalendar, kazakhstan_calendar

MAX_TEXT = 2000
MAX_ANSWER = 4000
RECENT_DAYS = 30
RULES_FILE = Path(__file__).with_name("complaint_rules.yaml")
Scrub = Callable[[str], str]

# Letters of the scripts complaints come in: Latin and Cyrillic (Kazakh's extra letters are
# Cyrillic too). Anything else is a text the agency could not read.
_EXPECTED_SCRIPT = re.compile(r"[A-Za-z\u00C0-\u024F\u0400-\u04FF\u0500-\u052F]")
_REFERENCE = re.compile(r"Q-[A-Z2-7]{8}")
_SPACES = re.compile(r"[ \t]+")


# Filing ------------------------------------------------------------------------------------


def new_reference() -> str:
    """ "Q-" and 8 base32 characters of 40 random bits: short to dictate, not guessable."""
    return "Q-" + base64.b32encode(secrets.token_bytes(5)).decode("ascii")


def parse_reference(raw: str) -> str | None:
    """A reference number as typed (any case, spaces around), or None if it cannot be one."""
    candidate = raw.strip().upper()
    return candidate if _REFERENCE.fullmatch(candidate) else None


@dataclass(frozen=True)
class TextRefused:
    """Why a complaint text is not taken: a message key of the citizen channels."""

    reason: str


def clean_text(raw: str | None) -> str | TextRefused:
    """The complaint text with control characters removed and spaces tidied, or why it is
    refused: empty, longer than MAX_TEXT, no letters at all (emoji, digits), or mostly in a
    script other than Latin or Cyrillic."""
    # Control characters go; format ones (a zero-width joiner in an emoji, a direction mark)
    # are part of what was typed.
    kept = "".join(
        ch for ch in (raw or "") if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    lines = [_SPACES.sub(" ", line).strip() for line in kept.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        return TextRefused("complaint_text_empty")
    if len(text) > MAX_TEXT:
        return TextRefused("complaint_text_too_long")
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return TextRefused("complaint_text_no_words")
    expected = sum(1 for ch in letters if _EXPECTED_SCRIPT.match(ch))
    if expected * 2 < len(letters):
        return TextRefused("complaint_text_script")
    return text


class ComplaintProblem(Exception):
    """A request the citizen or staff may not make; `reason` is a message key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ComplaintDesk:
    """The citizen side of complaints, one unit of work (session) at a time. It never commits:
    the handler of the update or request commits once, before it replies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent_services(
        self, respondent: Respondent, now: datetime | None = None
    ) -> list[Response]:
        """The respondent's completed responses of the last 30 days not complained about yet
        (a draft still counts as open), newest first."""
        since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
        filed = select(Complaint.response_id).where(
            Complaint.response_id.is_not(None), Complaint.status != ComplaintStatus.DRAFT
        )
        rows = await self.session.scalars(
            select(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.COMPLETED,
                Response.completed_at >= since,
                Response.id.not_in(filed),
            )
            .order_by(Response.completed_at.desc())
            .limit(10)
            .options(joinedload(Response.service))
        )
        return list(rows)

    async def start(
        self, respondent: Respondent, response_id: int, language: str, now: datetime | None = None
    ) -> Complaint:
        """A draft complaint about one of the respondent's own recent services (the existing
        draft if they had begun one). Someone else's, an unknown or an old service, or one
        already complained about, is refused."""
        now = now or utcnow()
        response = await self.session.get(Response, response_id)
        if (
            response is None
            or response.respondent_id != respondent.id
            or response.status is not ResponseStatus.COMPLETED
        ):
            raise ComplaintProblem("complaint_unknown_service")
        if response.completed_at is None or response.completed_at < now - timedelta(
            days=RECENT_DAYS
        ):
            raise ComplaintProblem("complaint_service_too_old")
        existing = await self.session.scalar(
            select(Complaint).where(Complaint.response_id == response_id)
        )
        if existing is not None:
            if existing.status is ComplaintStatus.DRAFT and existing.respondent_id == respondent.id:
                return existing
            raise ComplaintProblem("complaint_already_filed")
        service = await self.session.get(PublicService, response.service_id)
        assert service is not None
        complaint = Complaint(
            reference=new_reference(),
            respondent_id=respondent.id,
            response_id=response.id,
            agency_id=service.agency_id,
            service_id=service.id,
            service_point_id=response.service_point_id,
            language=language,
            status=ComplaintStatus.DRAFT,
            created_at=now,
            updated_at=now,
        )
        self.session.add(complaint)
        try:
            await self.session.flush()
        except IntegrityError:  # a double tap created it first
            await self.session.rollback()
            return await self.start(respondent, response_id, language, now)
        return complaint

    async def draft(self, respondent: Respondent, complaint_id: int | None = None) -> Complaint:
        """The respondent's draft complaint about a service (this one, or the newest); anything
        else is refused. A draft problem report about a data set is not this desk's."""
        query = select(Complaint).where(
            Complaint.respondent_id == respondent.id,
            Complaint.status == ComplaintStatus.DRAFT,
            Complaint.service_id.is_not(None),
        )
        if complaint_id is not None:
            query = query.where(Complaint.id == complaint_id)
        found = await self.session.scalar(
            query.order_by(Complaint.id.desc()).limit(1).options(joinedload(Complaint.service))
        )
        if found is None:
            raise ComplaintProblem("complaint_no_draft")
        return found

    async def latest_draft(self, respondent: Respondent) -> Complaint | None:
        try:
            return await self.draft(respondent)
        except ComplaintProblem:
            return None

    async def choose_category(self, complaint: Complaint, category: str) -> None:
        try:
            complaint.category = ComplaintCategory(category)
        except ValueError:
            raise ComplaintProblem("stale_button") from None
        complaint.updated_at = utcnow()

    async def give_text(self, complaint: Complaint, raw: str | None, scrub: Scrub) -> None:
        """Store the scrubbed text, or refuse it (the draft stays as it was)."""
        if complaint.category is None:
            raise ComplaintProblem("complaint_pick_category")
        cleaned = clean_text(raw)
        if isinstance(cleaned, TextRefused):
            raise ComplaintProblem(cleaned.reason)
        complaint.text = scrub(cleaned)[:MAX_TEXT]
        complaint.updated_at = utcnow()

    async def submit(
        self, complaint: Complaint, consent: bool, now: datetime | None = None
    ) -> Complaint:
        """The last step: the consent, and the complaint is received (deadline set, history
        begun). The agency sees it from now on."""
        if complaint.category is None or complaint.text is None:
            raise ComplaintProblem("complaint_not_ready")
        now = now or utcnow()
        complaint.consent_to_answer = consent
        complaint.deadline = deadline_for(complaint.category, now)
        move_to(self.session, complaint, ComplaintStatus.RECEIVED, "citizen", now)
        if complaint.response_id is not None:  # the survey's "I want to complain" is answered
            await self.session.execute(
                update(ComplaintRequest)
                .where(ComplaintRequest.response_id == complaint.response_id)
                .values(status="filed")
            )
        return complaint

    async def own(self, respondent: Respondent, reference: str) -> Complaint:
        """The respondent's own filed complaint by its reference; a forged, mistyped or someone
        else's reference is refused alike."""
        parsed = parse_reference(reference)
        found = None
        if parsed is not None:
            found = await self.session.scalar(
                select(Complaint)
                .where(Complaint.reference == parsed, Complaint.respondent_id == respondent.id)
                .options(joinedload(Complaint.service))
            )
        if found is None or found.status is ComplaintStatus.DRAFT:
            raise ComplaintProblem("complaint_reference_unknown")
        return found

    async def cancel(self, complaint: Complaint) -> None:
        if complaint.status is ComplaintStatus.DRAFT:
            await self.session.delete(complaint)

    async def filed_about(self, response_id: int) -> Complaint | None:
        """The complaint filed about a rated service, if one was (a draft is not filed)."""
        found: Complaint | None = await self.session.scalar(
            select(Complaint).where(
                Complaint.response_id == response_id, Complaint.status != ComplaintStatus.DRAFT
            )
        )
        return found

    async def history(self, complaint_id: int) -> Sequence[ComplaintStatusChange]:
        return await history(self.session, complaint_id)

    async def rate_answer(
        self, respondent: Respondent, complaint_id: int, rating: int
    ) -> Complaint:
        return await rate_answer(self.session, respondent, complaint_id, rating)


# Deadlines and the lifecycle ---------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintRules:
    version: str
    default_working_days: int
    categories: dict[str, int]
    remind_working_days_before: int
    dataset_problem_working_days: int | None = None  # None: the default

    def working_days(self, category: ComplaintCategory) -> int:
        return self.categories.get(category.value, self.default_working_days)

    def problem_working_days(self) -> int:
        """Working days to answer a problem report about an open data set."""
        if self.dataset_problem_working_days is None:
            return self.default_working_days
        return self.dataset_problem_working_days


def rules_from(data: dict[str, Any]) -> ComplaintRules:
    categories = {str(k): int(v) for k, v in (data.get("categories") or {}).items()}
    unknown = set(categories) - {c.value for c in ComplaintCategory}
    if unknown:
        raise ValueError(f"complaint rules: unknown categories {sorted(unknown)}")
    return ComplaintRules(
        version=str(data.get("version", "")),
        default_working_days=int(data["default_working_days"]),
        categories=categories,
        remind_working_days_before=int(data.get("remind_working_days_before", 3)),
        dataset_problem_working_days=(
            int(data["dataset_problem"]) if data.get("dataset_problem") is not None else None
        ),
    )


@cache
def complaint_rules(path: Path = RULES_FILE) -> ComplaintRules:
    with path.open(encoding="utf-8") as stream:
        return rules_from(yaml.safe_load(stream))


def deadline_for(
    category: ComplaintCategory,
    received_at: datetime,
    rules: ComplaintRules | None = None,
    calendar: HolidayCalendar | None = None,
) -> date:
    """The last day to answer: the category's working days counted from the day after the
    complaint was received (Kazakhstan time)."""
    rules = rules or complaint_rules()
    calendar = calendar or kazakhstan_calendar()
    return calendar.add_working_days(reporting_day(received_at), rules.working_days(category))


def problem_deadline(
    received_at: datetime,
    rules: ComplaintRules | None = None,
    calendar: HolidayCalendar | None = None,
) -> date:
    """The last day to answer a data set's problem report, counted like a complaint's."""
    rules = rules or complaint_rules()
    calendar = calendar or kazakhstan_calendar()
    return calendar.add_working_days(reporting_day(received_at), rules.problem_working_days())


# Which moves the agency may make; the citizen only files (draft -> received).
TRANSITIONS: dict[ComplaintStatus, tuple[ComplaintStatus, ...]] = {
    ComplaintStatus.DRAFT: (ComplaintStatus.RECEIVED,),
    ComplaintStatus.RECEIVED: (
        ComplaintStatus.IN_REVIEW,
        ComplaintStatus.ANSWERED,
        ComplaintStatus.CLOSED,
    ),
    ComplaintStatus.IN_REVIEW: (ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED),
    ComplaintStatus.ANSWERED: (ComplaintStatus.CLOSED,),
    ComplaintStatus.CLOSED: (),
}
_STAMP = {
    ComplaintStatus.RECEIVED: "received_at",
    ComplaintStatus.IN_REVIEW: "in_review_at",
    ComplaintStatus.ANSWERED: "answered_at",
    ComplaintStatus.CLOSED: "closed_at",
}


def move_to(
    session: AsyncSession,
    complaint: Complaint,
    status: ComplaintStatus,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Change the status (the caller commits), stamping its time and writing the history;
    a move the lifecycle does not allow (answering a closed complaint) is refused."""
    if status not in TRANSITIONS[complaint.status]:
        raise ComplaintProblem("complaint_move_not_allowed")
    now = now or utcnow()
    complaint.status = status
    setattr(complaint, _STAMP[status], now)
    complaint.updated_at = now
    session.add(ComplaintStatusChange(complaint=complaint, status=status, at=now, actor=actor))
    # The citizen learns of every later change, if they agreed to be answered in the chat (the
    # filing itself is confirmed on the spot).
    # Whether the citizen can still be reached is the sender's question: the agency side never
    # loads who the citizen is.
    if status is not ComplaintStatus.RECEIVED and complaint.consent_to_answer:
        session.add(ComplaintNotice(complaint=complaint, status=status, created_at=now, attempts=0))


def answer(
    session: AsyncSession,
    complaint: Complaint,
    raw: str | None,
    actor: str,
    now: datetime | None = None,
) -> None:
    """The agency's answer (the caller commits): a text of 1..MAX_ANSWER characters; a closed or
    already answered complaint is not answered again."""
    text = (raw or "").replace("\r\n", "\n").strip()
    text = "".join(ch for ch in text if ch == "\n" or not unicodedata.category(ch).startswith("C"))
    if not text:
        raise ComplaintProblem("complaint_answer_empty")
    if len(text) > MAX_ANSWER:
        raise ComplaintProblem("complaint_answer_too_long")
    move_to(session, complaint, ComplaintStatus.ANSWERED, actor, now)
    complaint.answer_text = text


async def rate_answer(
    session: AsyncSession, respondent: Respondent, complaint_id: int, rating: int
) -> Complaint:
    """The citizen's 1-5 rating of the answer: once, by the complaint's own citizen, after an
    answer. A second rating is refused (the first one stays)."""
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None or complaint.respondent_id != respondent.id:
        raise ComplaintProblem("stale_button")
    if not 1 <= rating <= 5 or complaint.answer_text is None:
        raise ComplaintProblem("stale_button")
    if complaint.answer_rating is not None:
        raise ComplaintProblem("complaint_already_rated")
    complaint.answer_rating = rating
    complaint.updated_at = utcnow()
    return complaint


OPEN_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.IN_REVIEW)


@dataclass(frozen=True)
class DeadlineWatch:
    """What one pass of the deadline job found: complaints whose reminder is due now, and
    complaints that just went past their deadline unanswered."""

    reminders: list[Complaint]
    overdue: list[Complaint]


async def watch_deadlines(
    session: AsyncSession,
    now: datetime | None = None,
    rules: ComplaintRules | None = None,
    calendar: HolidayCalendar | None = None,
) -> DeadlineWatch:
    """Flag open complaints past their deadline and pick those due for a reminder, each once
    (`overdue_at`, `reminded_at`). Does not commit: the job running it does."""
    now = now or utcnow()
    rules = rules or complaint_rules()
    calendar = calendar or kazakhstan_calendar()
    today = reporting_day(now)
    open_ones = list(
        await session.scalars(
            select(Complaint)
            .where(
                Complaint.status.in_(OPEN_STATUSES),
                Complaint.deadline.is_not(None),
                (Complaint.reminded_at.is_(None)) | (Complaint.overdue_at.is_(None)),
            )
            .order_by(Complaint.deadline, Complaint.id)
        )
    )
    reminders, overdue = [], []
    for complaint in open_ones:
        assert complaint.deadline is not None
        if complaint.deadline < today:
            if complaint.overdue_at is None:
                complaint.overdue_at = now
                overdue.append(complaint)
        elif (
            complaint.reminded_at is None
            and calendar.working_days_between(today, complaint.deadline)
            <= rules.remind_working_days_before
        ):
            complaint.reminded_at = now
            reminders.append(complaint)
    return DeadlineWatch(reminders, overdue)


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    return (
        complaint.status in OPEN_STATUSES
        and complaint.deadline is not None
        and complaint.deadline < reporting_day(now or utcnow())
    )


async def history(session: AsyncSession, complaint_id: int) -> Sequence[ComplaintStatusChange]:
    rows = await session.scalars(
        select(ComplaintStatusChange)
        .where(ComplaintStatusChange.complaint_id == complaint_id)
        .order_by(ComplaintStatusChange.at, ComplaintStatusChange.id)
    )
    return list(rows)


# What the agency side reads ----------------------------------------------------------------

FRAME_COLUMNS = [
    "complaint_id",
    "agency",
    "received_at",
    "category",
    "service",
    "office",
    "status",
    "deadline",
    "answered_at",
    "text",
    "language",
    "answer_rating",
]


async def complaints_frame(
    session: AsyncSession, agency_id: int | None, start: datetime, end: datetime
) -> pd.DataFrame:
    """Filed complaints about services (not data sets' problem reports) received in
    [start, end), of one agency (None: all), one row each,
    with the columns of FRAME_COLUMNS: the reference as `complaint_id`, codes for agency,
    service and office, the scrubbed text. Nothing about the citizen is selected."""
    office = aliased(ServicePoint)
    query = (
        select(
            Complaint.reference.label("complaint_id"),
            Agency.code.label("agency"),
            Complaint.received_at,
            Complaint.category,
            PublicService.code.label("service"),
            office.code.label("office"),
            Complaint.status,
            Complaint.deadline,
            Complaint.answered_at,
            Complaint.text,
            Complaint.language,
            Complaint.answer_rating,
        )
        .join(Agency, Agency.id == Complaint.agency_id)
        .join(PublicService, PublicService.id == Complaint.service_id)
        .outerjoin(office, office.id == Complaint.service_point_id)
        .where(
            # complaints about services only: a data set's problem reports are counted apart
            Complaint.service_id.is_not(None),
            Complaint.status != ComplaintStatus.DRAFT,
            Complaint.received_at >= start,
            Complaint.received_at < end,
        )
        .order_by(Complaint.received_at, Complaint.id)
    )
    if agency_id is not None:
        query = query.where(Complaint.agency_id == agency_id)
    rows = (await session.execute(query)).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=FRAME_COLUMNS)
    for column in ("category", "status"):
        frame[column] = frame[column].map(lambda v: v.value if v is not None else None)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    frame["answered_at"] = pd.to_datetime(frame["answered_at"], utc=True)
    frame["answer_rating"] = frame["answer_rating"].astype("Int64")
    return frame
