"""Ratings of open data sets: finding a set, opening one person's rating of it for the day, storing
each answer as it is given, and completing it (the metric columns, and a problem report filed as
a complaint about the data set when the person reported one).

One rating per person, data set and Asia/Almaty day (a unique key): rating the same set again the
same day reuses that row with its answers reset, so it is counted once. `RatingAnswers` is the
survey engine's AnswerStore over one rating; every answer is one UPDATE statement that checks the
rating is open, whose it is and how many answers it holds. Neither commits: the service over them
(`bot/datasets.py`'s `DatasetDesk`) commits its unit of work once, before the reply.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core.answer_text import kept_answer
from core.clock import reporting_day, utcnow
from core.complaints import MAX_TEXT, Scrub, move_to, new_reference, problem_deadline
from core.integrity.dataset_flags import judge_rating, may_report
from core.integrity.flags import Rules
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
)
from core.responses import Completing

# The metric tags a completed rating's columns are filled from (survey_definitions/).
METRIC_COLUMNS = {
    "dataset_found": "found",
    "dataset_complete": "complete",
    "dataset_current": "current",
    "dataset_verifiable": "verifiable",
}
SATISFACTION_METRIC = "dataset_satisfaction"
PROBLEM_METRIC = "dataset_problem"
PROBLEM_TEXT_METRIC = "dataset_problem_text"
# Deep links and QR codes carry `ds-<external id>`; Telegram allows A-Z a-z 0-9 _ - (64 at most).
PAYLOAD_PREFIX = "ds-"
BY_ID = "_"  # `ds-_<id>`: a set whose external id can't be carried in a deep link
SEARCH_LIMIT = 8

_TIME_TYPE = DatasetRating.__table__.c.updated_at.type

# Storing one answer, one statement: only into an open rating of its owner, only a question not
# answered yet, only when it holds the `known` answers the decision was made on.
SAVE_ANSWER_POSTGRESQL = text(
    "UPDATE dataset_rating SET answers = answers || jsonb_build_object("
    "CAST(:question AS varchar), CAST(:value AS jsonb)), updated_at = :now "
    "WHERE id = :rating_id AND status = 'in_progress' AND respondent_id = :owner "
    "AND NOT jsonb_exists(answers, CAST(:question AS varchar)) "
    "AND (CAST(:known AS integer) IS NULL "
    "OR (SELECT count(*) FROM jsonb_object_keys(answers)) = CAST(:known AS integer))"
).bindparams(bindparam("now", type_=_TIME_TYPE))
SAVE_ANSWER_SQLITE = text(
    "UPDATE dataset_rating SET answers = json_set(answers, '$.' || :question, json(:value)), "
    "updated_at = :now "
    "WHERE id = :rating_id AND status = 'in_progress' AND respondent_id = :owner "
    "AND json_type(answers, '$.' || :question) IS NULL "
    "AND (:known IS NULL OR (SELECT count(*) FROM json_each(dataset_rating.answers)) = :known)"
).bindparams(bindparam("now", type_=_TIME_TYPE))


@dataclass(frozen=True)
class DatasetRefused:
    """Why nothing opens: `reason` is a message key of the citizen channels."""

    reason: str


class RatingClosed(Exception):
    """The rating is no longer open to this person (completed, replaced, someone else's)."""


def normalised(value: str) -> str:
    """Text as titles are matched: NFC, case-folded, ё as е, spaces collapsed."""
    folded = unicodedata.normalize("NFC", value).casefold().replace("ё", "е")
    return " ".join(folded.split())


def matches(dataset: Dataset, typed: str) -> bool:
    """Every word typed is part of the set's title in one of its languages."""
    words = normalised(typed).split()
    titles = " | ".join(
        normalised(t) for t in (dataset.title_kk, dataset.title_ru, dataset.title_en) if t
    )
    return bool(words) and all(word in titles for word in words)


def payload_for(dataset: Dataset) -> str:
    """The `/start` payload of a data set's deep link: `ds-<external id>`, or `ds-_<id>` when
    the external id does not fit a Telegram deep link (A-Z a-z 0-9 _ -, 64 at most)."""
    payload = PAYLOAD_PREFIX + dataset.external_id
    allowed = all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in dataset.external_id)
    return payload if allowed and len(payload) <= 64 else f"{PAYLOAD_PREFIX}{BY_ID}{dataset.id}"


class DatasetRatings:
    """The citizen side of data-set ratings, one unit of work (session) at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def agencies(self) -> list[Agency]:
        """Agencies with at least one published data set, by code."""
        published = select(Dataset.agency_id).where(Dataset.state == DatasetState.PUBLISHED)
        rows = await self.session.scalars(
            select(Agency).where(Agency.id.in_(published)).order_by(Agency.code)
        )
        return list(rows)

    async def agency(self, agency_id: int) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def search(self, agency_id: int, typed: str, limit: int = SEARCH_LIMIT) -> list[Dataset]:
        """The agency's published sets whose title (kk, ru or en) holds every word typed. Matched
        here, not in SQL: SQLite folds the case of ASCII letters only, and an agency publishes
        hundreds of sets at most."""
        rows = await self.session.scalars(
            select(Dataset)
            .where(Dataset.agency_id == agency_id, Dataset.state == DatasetState.PUBLISHED)
            .order_by(Dataset.title_ru, Dataset.id)
        )
        return [dataset for dataset in rows if matches(dataset, typed)][:limit]

    async def published(self, agency_id: int, limit: int) -> list[Dataset]:
        """The agency's published sets, to browse without typing."""
        rows = await self.session.scalars(
            select(Dataset)
            .where(Dataset.agency_id == agency_id, Dataset.state == DatasetState.PUBLISHED)
            .order_by(Dataset.title_ru, Dataset.id)
            .limit(limit)
        )
        return list(rows)

    async def dataset(self, dataset_id: int) -> Dataset | DatasetRefused:
        """A set that may be rated now; an unknown, planned or withdrawn one is refused."""
        found = await self.session.get(Dataset, dataset_id, options=[joinedload(Dataset.agency)])
        return _open_to_rating(found)

    async def by_payload(self, payload: str) -> Dataset | DatasetRefused:
        """The set a deep link (`ds-<external id>`) or a web link names."""
        external_id = payload.removeprefix(PAYLOAD_PREFIX).strip()
        if not external_id or len(external_id) > 128:
            return DatasetRefused("dataset_link_stale")
        found = await self.session.scalar(
            select(Dataset)
            .where(Dataset.external_id == external_id)
            .options(joinedload(Dataset.agency))
        )
        number = external_id.removeprefix(BY_ID)
        if (
            found is None
            and external_id.startswith(BY_ID)
            and number.isdigit()
            and len(number) < 12
        ):
            found = await self.session.get(
                Dataset, int(number), options=[joinedload(Dataset.agency)]
            )
        refused = _open_to_rating(found)
        if isinstance(refused, DatasetRefused) and refused.reason == "dataset_unknown":
            return DatasetRefused("dataset_link_stale")
        return refused

    async def rating_today(
        self, respondent: Respondent, dataset: Dataset, now: datetime | None = None
    ) -> RatingStatus | None:
        """Where the person's rating of this set today stands, if they began one."""
        found: RatingStatus | None = await self.session.scalar(
            select(DatasetRating.status).where(
                DatasetRating.dataset_id == dataset.id,
                DatasetRating.respondent_id == respondent.id,
                DatasetRating.day == reporting_day(now or utcnow()),
            )
        )
        return found

    async def open_rating(
        self,
        respondent: Respondent,
        dataset: Dataset,
        channel: Channel,
        language: str,
        survey_id: str,
        survey_version: str,
        now: datetime | None = None,
    ) -> DatasetRating:
        """Today's rating of this set by this person: the one in progress, resumed; a finished
        one is started again (answers reset, counted once); else a new one."""
        now = now or utcnow()
        key = (
            DatasetRating.dataset_id == dataset.id,
            DatasetRating.respondent_id == respondent.id,
            DatasetRating.day == reporting_day(now),
        )
        existing = await self.session.scalar(select(DatasetRating).where(*key))
        if existing is not None:
            if existing.status is RatingStatus.COMPLETED:
                await self._restart(existing, channel, language, survey_id, survey_version, now)
            return existing
        # A double tap may insert it at the same time: the unique key keeps one, and nothing
        # is rolled back (a rollback would expire what the caller holds).
        dialect = self.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DatasetRating)
        await self.session.execute(
            insert.values(
                dataset_id=dataset.id,
                respondent_id=respondent.id,
                day=reporting_day(now),
                channel=channel,
                language=language,
                survey_id=survey_id,
                survey_version=survey_version,
                status=RatingStatus.IN_PROGRESS,
                answers={},
                started_at=now,
                updated_at=now,
            ).on_conflict_do_nothing(index_elements=["dataset_id", "respondent_id", "day"])
        )
        opened = await self.session.scalar(select(DatasetRating).where(*key))
        assert opened is not None
        return opened

    async def _restart(
        self,
        rating: DatasetRating,
        channel: Channel,
        language: str,
        survey_id: str,
        survey_version: str,
        now: datetime,
    ) -> None:
        # The report filed from the first rating stays filed; it no longer names this row,
        # which now holds another rating (one report per rating).
        await self.session.execute(
            update(Complaint)
            .where(Complaint.dataset_rating_id == rating.id)
            .values(dataset_rating_id=None)
        )
        rating.status = RatingStatus.IN_PROGRESS
        rating.answers = {}
        rating.found = rating.complete = rating.current = rating.verifiable = None
        rating.overall = None
        rating.completed_at = None
        rating.channel = channel
        rating.language = language
        rating.survey_id = survey_id
        rating.survey_version = survey_version
        rating.started_at = now
        rating.updated_at = now

    async def in_progress(self, respondent: Respondent) -> DatasetRating | None:
        """The person's rating in progress they touched last, if any."""
        found: DatasetRating | None = await self.session.scalar(
            select(DatasetRating)
            .where(
                DatasetRating.respondent_id == respondent.id,
                DatasetRating.status == RatingStatus.IN_PROGRESS,
            )
            .order_by(DatasetRating.updated_at.desc(), DatasetRating.id.desc())
            .limit(1)
            .options(joinedload(DatasetRating.dataset).joinedload(Dataset.agency))
        )
        return found

    async def rating(self, rating_id: int) -> DatasetRating | None:
        found: DatasetRating | None = await self.session.scalar(
            select(DatasetRating)
            .where(DatasetRating.id == rating_id)
            .options(joinedload(DatasetRating.dataset).joinedload(Dataset.agency))
            .execution_options(populate_existing=True)
        )
        return found

    async def report_of(self, rating_id: int) -> Complaint | None:
        """The problem report filed from this rating, if one was."""
        found: Complaint | None = await self.session.scalar(
            select(Complaint).where(Complaint.dataset_rating_id == rating_id)
        )
        return found


def _open_to_rating(found: Dataset | None) -> Dataset | DatasetRefused:
    if found is None:
        return DatasetRefused("dataset_unknown")
    if found.state is DatasetState.WITHDRAWN:
        return DatasetRefused("dataset_withdrawn")
    if found.state is not DatasetState.PUBLISHED:
        return DatasetRefused("dataset_not_published")
    return found


class RatingAnswers:
    """The survey engine's AnswerStore over the ratings of one person (`owner_id`). A rating
    that is not open or not theirs raises RatingClosed. `text_question`: the question whose
    answer is a problem report's text (the survey's `dataset_problem_text` tag). `consent`:
    whether status changes of a report filed at completion are sent back (the chat can, the
    web page can't). `rules`: the anti-gaming rules a completed rating is judged by."""

    def __init__(
        self,
        session: AsyncSession,
        owner_id: int,
        scrub: Scrub,
        *,
        text_question: str | None,
        consent: bool,
        rules: Rules,
    ) -> None:
        self.session = session
        self.owner_id = owner_id
        self.scrub = scrub
        self.rules = rules
        self.text_question = text_question
        self.consent = consent
        self.filed: Complaint | None = None  # the report filed at completion, if any
        # A keyed hash of the web visitor's network (None in Telegram), for anti-gaming.
        self.network: bytes | None = None
        self.flag: str | None = None  # why the completed rating does not count, if it does not

    async def load_answers(self, response_id: int) -> dict[str, Any]:
        found = await self.session.scalar(
            select(DatasetRating.answers)
            .where(
                DatasetRating.id == response_id,
                DatasetRating.respondent_id == self.owner_id,
                DatasetRating.status == RatingStatus.IN_PROGRESS,
            )
            .execution_options(populate_existing=True)
        )
        if found is None:
            raise RatingClosed
        return dict(found)

    async def save_answer(
        self,
        response_id: int,
        question: str,
        value: Any,
        known: int | None = None,
        *,
        completing: Completing | None = None,
    ) -> bool:
        """Store one answer; the last one (`completing`) with the completion, in the same
        transaction."""
        dialect = self.session.get_bind().dialect.name
        statement = SAVE_ANSWER_POSTGRESQL if dialect == "postgresql" else SAVE_ANSWER_SQLITE
        result = await self.session.execute(
            statement,
            {
                "rating_id": response_id,
                "question": question,
                "value": json.dumps(kept_answer(value)),  # text scrubbed of personal data
                "now": utcnow(),
                "owner": self.owner_id,
                "known": known,
            },
        )
        stored = getattr(result, "rowcount", 0) == 1
        if stored and completing is not None:
            await self._complete_uncommitted(
                response_id, completing.metrics, completing.complaint_requested
            )
        if not stored:
            await self.load_answers(response_id)  # raises when it is no longer open to them
        return stored

    async def complete(
        self, response_id: int, metrics: list[tuple[str, str]], complaint_requested: bool
    ) -> None:
        """Fill the metric columns and, if a problem was reported, file it: one transaction.
        Nothing when completed already (the same update delivered twice)."""
        await self._complete_uncommitted(response_id, metrics, complaint_requested)

    async def _complete_uncommitted(
        self, response_id: int, metrics: list[tuple[str, str]], _complaint_requested: bool
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": RatingStatus.COMPLETED, "completed_at": now}
        problem: DatasetProblem | None = None
        for metric, value in metrics:
            if metric in METRIC_COLUMNS:
                values[METRIC_COLUMNS[metric]] = value == "yes"
            elif metric == SATISFACTION_METRIC and value.isdigit():
                values["overall"] = int(value)
            elif metric == PROBLEM_METRIC and value in {p.value for p in DatasetProblem}:
                problem = DatasetProblem(value)
        completed = (
            await self.session.execute(
                update(DatasetRating)
                .where(
                    DatasetRating.id == response_id,
                    DatasetRating.respondent_id == self.owner_id,
                    DatasetRating.status == RatingStatus.IN_PROGRESS,
                )
                .values(updated_at=now, address_digest=self.network, **values)
                .returning(
                    DatasetRating.dataset_id,
                    DatasetRating.language,
                    DatasetRating.answers,
                    DatasetRating.started_at,
                )
            )
        ).first()
        if completed is None:
            return
        dataset_id, language, answers, started_at = completed
        self.flag = await judge_rating(
            self.session,
            self.rules,
            rating_id=response_id,
            respondent_id=self.owner_id,
            started_at=started_at,
            now=now,
            digest=self.network,
        )
        if self.flag is not None:
            await self.session.execute(
                update(DatasetRating).where(DatasetRating.id == response_id).values(flag=self.flag)
            )
        if (
            problem is not None
            and self.flag is None
            and await may_report(
                self.session,
                dataset_id=dataset_id,
                respondent_id=self.owner_id,
                now=now,
                digest=self.network,
            )
        ):
            self.filed = await self._file(response_id, dataset_id, language, problem, answers, now)

    async def _file(
        self,
        rating_id: int,
        dataset_id: int,
        language: str,
        problem: DatasetProblem,
        answers: dict[str, Any],
        now: datetime,
    ) -> Complaint:
        agency_id = await self.session.scalar(
            select(Dataset.agency_id).where(Dataset.id == dataset_id)
        )
        typed = answers.get(self.text_question) if self.text_question else None
        described = typed if isinstance(typed, str) and typed.strip() else None
        complaint = Complaint(
            reference=new_reference(),
            respondent_id=self.owner_id,
            agency_id=agency_id,
            dataset_id=dataset_id,
            dataset_rating_id=rating_id,
            problem=problem,
            text=self.scrub(described)[:MAX_TEXT] if described else None,
            language=language,
            consent_to_answer=self.consent,
            status=ComplaintStatus.DRAFT,
            deadline=problem_deadline(now),
            created_at=now,
            updated_at=now,
        )
        self.session.add(complaint)
        move_to(self.session, complaint, ComplaintStatus.RECEIVED, "citizen", now)
        return complaint


PROBLEM_FRAME_COLUMNS = [
    "complaint_id",
    "agency",
    "received_at",
    "problem",
    "dataset",
    "status",
    "deadline",
    "answered_at",
]


async def problems_frame(
    session: AsyncSession,
    agency_id: int | None,
    start: datetime,
    end: datetime,
    lang: str = "ru",
) -> pd.DataFrame:
    """Problem reports about open data sets received in [start, end), of one agency (None: all),
    one row each with the columns the complaint summary's `problems=` takes: the reference as
    `complaint_id`, the agency's code, the kind, the data set's title in `lang` (Russian where
    a set has no English title), status, deadline, answered_at. Nothing about the person."""
    title = {"kk": Dataset.title_kk, "en": func.coalesce(Dataset.title_en, Dataset.title_ru)}.get(
        lang, Dataset.title_ru
    )
    query = (
        select(
            Complaint.reference,
            Agency.code,
            Complaint.received_at,
            Complaint.problem,
            title,
            Complaint.status,
            Complaint.deadline,
            Complaint.answered_at,
        )
        .join(Agency, Agency.id == Complaint.agency_id)
        .join(Dataset, Dataset.id == Complaint.dataset_id)
        .where(
            Complaint.status != ComplaintStatus.DRAFT,
            Complaint.received_at >= start,
            Complaint.received_at < end,
        )
        .order_by(Complaint.received_at, Complaint.id)
    )
    if agency_id is not None:
        query = query.where(Complaint.agency_id == agency_id)
    rows = (await session.execute(query)).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=PROBLEM_FRAME_COLUMNS)
    for column in ("problem", "status"):
        frame[column] = frame[column].map(lambda v: v.value if v is not None else None)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    frame["answered_at"] = pd.to_datetime(frame["answered_at"], utc=True)
    return frame
