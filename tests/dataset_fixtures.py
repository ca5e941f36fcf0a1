"""Small builders for open-data tests: a data set of an agency, a completed rating, a problem
report filed and moved along its lifecycle (through core.complaints, like the real flows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.complaints import move_to, new_reference
from core.models import (
    Agency,
    Channel,
    Complaint,
    ComplaintStatus,
    Dataset,
    DatasetProblem,
    DatasetRating,
    DatasetState,
    RatingStatus,
    Respondent,
    UpdateFrequency,
)

NOON = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)  # 12:00 in Kazakhstan


async def add_dataset(
    session: AsyncSession,
    agency: Agency,
    external_id: str,
    title_ru: str = "Реестр услуг",
    state: DatasetState = DatasetState.PUBLISHED,
    frequency: UpdateFrequency = UpdateFrequency.MONTHLY,
    last_updated: date | None = date(2025, 1, 31),
) -> Dataset:
    dataset = Dataset(
        agency_id=agency.id,
        external_id=external_id,
        title_kk=f"{title_ru} (kk)",
        title_ru=title_ru,
        title_en=None,
        url=f"https://data.egov.kz/{external_id}",
        update_frequency=frequency,
        last_updated=last_updated,
        state=state,
        created_at=NOON,
        updated_at=NOON,
    )
    session.add(dataset)
    await session.flush()
    return dataset


async def add_respondent(session: AsyncSession, key: str) -> Respondent:
    respondent = Respondent(key=key)
    session.add(respondent)
    await session.flush()
    return respondent


def rating(
    dataset: Dataset,
    day: date,
    overall: int | None,
    verifiable: bool | None,
    respondent: Respondent | None = None,
    status: RatingStatus = RatingStatus.COMPLETED,
) -> DatasetRating:
    at = datetime.combine(day, NOON.timetz())
    return DatasetRating(
        dataset_id=dataset.id,
        respondent_id=respondent.id if respondent else None,
        day=day,
        channel=Channel.TELEGRAM,
        language="kk",
        survey_id="dataset_feedback",
        survey_version="1",
        status=status,
        answers={"overall": overall, "verifiable": verifiable},
        found=True,
        complete=True,
        current=True,
        verifiable=verifiable,
        overall=overall,
        started_at=at,
        updated_at=at,
        completed_at=at if status is RatingStatus.COMPLETED else None,
    )


def problem_report(
    session: AsyncSession,
    dataset: Dataset,
    received: datetime,
    deadline: date,
    answered: datetime | None = None,
    closed: datetime | None = None,
) -> Complaint:
    report = Complaint(
        reference=new_reference(),
        agency_id=dataset.agency_id,
        dataset_id=dataset.id,
        problem=DatasetProblem.OUTDATED,
        text="Деректер ескірген",
        language="kk",
        consent_to_answer=False,
        status=ComplaintStatus.DRAFT,
        created_at=received - timedelta(minutes=1),
        updated_at=received,
    )
    session.add(report)
    move_to(session, report, ComplaintStatus.RECEIVED, "citizen", received)
    report.deadline = deadline
    if answered is not None:
        move_to(session, report, ComplaintStatus.ANSWERED, "staff@agency.kz", answered)
        report.answer_text = "Жаңартылды"
    if closed is not None:
        move_to(session, report, ComplaintStatus.CLOSED, "staff@agency.kz", closed)
    return report
