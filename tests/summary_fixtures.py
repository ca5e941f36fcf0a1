"""Complaints for the summary tests, filed the way citizens file them (the complaint desk,
texts scrubbed on the way in): one at a time, or the kk/ru fixture corpus in one week with a
baseline of ordinary weeks before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.summaries import SummaryPeriod
from core.complaints import ComplaintDesk
from core.models import (
    Channel,
    Complaint,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServicePoint,
)
from scoring.privacy import scrub
from tests.complaint_frames import CATEGORY_OF_THEME, corpus

_keys = count()
# Monday 30 November 2026, 17:00 in Kazakhstan: the week of 23-29 November has just closed
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WEEK = SummaryPeriod.last_closed("weekly", NOW)
BASELINE_WEEKS = 4
# per baseline week: complaints about the first and the second office
BASELINE = (2, 6)
# of the corpus filed in WEEK, this many go to the first office (the rest to the second)
FIRST_OFFICE_SHARE = 46


async def file_complaint(
    session: AsyncSession,
    service: PublicService,
    office: ServicePoint | None,
    category: str,
    at: datetime,
    text: str = "Құжаттарды қайта-қайта сұрады",
    language: str = "kk",
) -> Complaint:
    """A complaint filed by a new citizen about a service they had just received."""
    respondent = Respondent(key=f"citizen-{next(_keys)}", language=language)
    session.add(respondent)
    await session.flush()
    response = Response(
        respondent_id=respondent.id,
        survey_id="post_service",
        survey_version="1",
        channel=Channel.TELEGRAM,
        language=language,
        status=ResponseStatus.COMPLETED,
        service_id=service.id,
        service_point_id=office.id if office else None,
        completed_at=at - timedelta(hours=1),
    )
    session.add(response)
    await session.commit()
    desk = ComplaintDesk(session)
    complaint = await desk.start(respondent, response.id, language, at)
    await desk.choose_category(complaint, category)
    await desk.give_text(complaint, text, scrub)
    await desk.submit(complaint, consent=False, now=at)
    await session.commit()
    return complaint


@dataclass(frozen=True)
class Corpus:
    first_office: ServicePoint
    second_office: ServicePoint
    total: int


async def file_corpus(
    session_factory: async_sessionmaker[AsyncSession],
    services: tuple[PublicService, PublicService],
    first_office: ServicePoint,
    second_office: ServicePoint,
) -> Corpus:
    """BASELINE_WEEKS ordinary weeks before WEEK, then the whole corpus in WEEK, skewed to the
    first office; services alternate."""
    rows = corpus()
    async with session_factory() as session:
        for period in WEEK.earlier(BASELINE_WEEKS):
            at = datetime.combine(period.start, time(6), tzinfo=UTC)
            for office, times in zip((first_office, second_office), BASELINE, strict=True):
                for number in range(times):
                    await file_complaint(session, services[number % 2], office, "waiting_time", at)
        start = datetime.combine(WEEK.start, time(6), tzinfo=UTC)
        for number, row in enumerate(rows):
            await file_complaint(
                session,
                services[number % 2],
                first_office if number < FIRST_OFFICE_SHARE else second_office,
                CATEGORY_OF_THEME.get(row["theme"], "other"),
                start + timedelta(hours=number % 100),
                text=row["text"],
                language=row["lang"],
            )
    return Corpus(first_office, second_office, len(rows))
