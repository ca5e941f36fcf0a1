"""One unit of work per update or request: the repositories over one session, and the only
place that commits (as in cosmicpython's `unit_of_work.py`).

Repositories read and write; the service handling the update (`bot/opening.py`'s `SurveyDesk`
for surveys) commits once, at its durable point, through `commit` or `atomically`. A unit of
work left without a commit is rolled back when it closes. Its session is opened on first use:
most presses store their answer through the `AnswerWriter`'s own statement and never need one.
`UnitsOfWork` is built once at start-up (`qanagat/app.py`) with the session factory and the
database's `AnswerWriter`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import cached_property
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import chat_links, invitations, staff_chats
from core.answer_writers import AnswerWriter, PlainAnswers
from core.complaints import ComplaintDesk, Scrub
from core.dataset_ratings import DatasetRatings, RatingAnswers
from core.db import holds_database_transaction
from core.identity import AddressBox
from core.integrity.flags import Rules, note_network_address
from core.models import Complaint, Respondent, ServicePoint
from core.responses import ResponseStore
from core.walk_ins import WalkIns

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 3
# PostgreSQL's codes for a transaction aborted to break a lock cycle, or a serialisation clash.
_LOCK_RACES = {"40P01", "40001"}


def lost_a_lock_race(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _LOCK_RACES


class UnitOfWork:
    """The repositories of one update or request, over one session: the one given, or one
    from `sessions` opened when a repository first needs it."""

    def __init__(
        self,
        session: AsyncSession | async_sessionmaker[AsyncSession],
        writer: AnswerWriter | None = None,
    ) -> None:
        if isinstance(session, AsyncSession):
            self._session: AsyncSession | None = session
            self._sessions = None
            bind = session.get_bind()
        else:
            self._session, self._sessions = None, session
            bind = session.kw["bind"]
        if writer is None:  # a unit of work on its own (a script, a test): plain statements
            writer = PlainAnswers(bind.dialect.name)
        self.responses = ResponseStore(self, writer)

    @property
    def session(self) -> AsyncSession:
        """The session, opened now if it was not (for the repositories; services use those)."""
        if self._session is None:
            assert self._sessions is not None
            self._session = self._sessions()
        return self._session

    def in_transaction(self) -> bool:
        """Whether something was read or written in the database in a transaction not yet
        committed (without opening a session to ask)."""
        return self._session is not None and holds_database_transaction(self._session)

    async def close(self) -> None:
        """Roll back what was not committed and give the connection back (shielded, as the
        session's own context does: a cancelled update still returns its connection)."""
        if self._session is not None and self._sessions is not None:
            await asyncio.shield(self._session.close())

    @cached_property
    def complaints(self) -> ComplaintDesk:
        return ComplaintDesk(self.session)

    @cached_property
    def dataset_ratings(self) -> DatasetRatings:
        return DatasetRatings(self.session)

    def rating_answers(
        self,
        owner_id: int,
        scrub: Scrub,
        *,
        text_question: str | None,
        consent: bool,
        rules: Rules,
    ) -> RatingAnswers:
        """The survey engine's answer store over one person's data-set ratings."""
        return RatingAnswers(
            self.session,
            owner_id,
            scrub,
            text_question=text_question,
            consent=consent,
            rules=rules,
        )

    async def commit(self) -> None:
        session = self._session
        if session is not None and (
            session.in_transaction() or session.new or session.dirty or session.deleted
        ):
            await session.commit()

    async def rollback(self) -> None:
        if self._session is not None:
            await self._session.rollback()

    async def atomically(self, work: Callable[[], Awaitable[T]], what: str = "work") -> T:
        """`work()` and the commit, as one transaction. A transaction PostgreSQL aborts to
        break a lock cycle or a serialisation clash was rolled back whole and is run again.
        Any other failure is rolled back."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = await work()
                await self.commit()
                return result
            except DBAPIError as error:
                await self.rollback()
                if attempt == ATTEMPTS or not lost_a_lock_race(error):
                    raise
                log.info("%s: %s; trying again", what, error.orig)
            except BaseException:
                await self.rollback()
                raise
        raise AssertionError("unreachable")

    # Other repositories' calls, on this unit of work's session ------------------------------

    async def office_by_code(self, code: str) -> ServicePoint | None:
        return await invitations.find_office(self.session, code)

    async def walk_ins_used_up(
        self, walk_ins: WalkIns, respondent_key: str, office_id: int
    ) -> bool:
        return await walk_ins.used_up(self.session, respondent_key, office_id)

    async def admit_walk_in(self, walk_ins: WalkIns, respondent_key: str, office_id: int) -> bool:
        return await walk_ins.admit(self.session, respondent_key, office_id)

    async def note_network(self, response_id: int, digest: bytes) -> None:
        await note_network_address(self.session, response_id, digest)

    async def chat_link_code(self, secret: bytes, respondent_id: int) -> str:
        return await chat_links.new_code(self.session, secret, respondent_id)

    async def subscribe_staff_chat(
        self,
        secret: bytes,
        box: AddressBox,
        *,
        code: str,
        chat_id: int,
        title: str | None,
        now: datetime,
    ) -> staff_chats.Subscribed | staff_chats.Refusal:
        return await staff_chats.subscribe(
            self.session, secret, box, code=code, chat_id=chat_id, title=title, now=now
        )

    async def unsubscribe_staff_chat(self, secret: bytes, chat_id: int) -> list[str]:
        return await staff_chats.unsubscribe_chat(self.session, secret, chat_id)

    async def rate_complaint_answer(
        self, respondent: Respondent, complaint_id: int, rating: int
    ) -> Complaint:
        return await self.complaints.rate_answer(respondent, complaint_id, rating)


class UnitsOfWork:
    """Where units of work come from: built once at start-up, with the writer for the
    database (`core.answer_writers.writer_for`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: AnswerWriter | None = None,
    ) -> None:
        self.sessions = sessions
        self.writer = writer or PlainAnswers(sessions.kw["bind"].dialect.name)

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work; what it did not commit is rolled back when it closes."""
        uow = UnitOfWork(self.sessions, self.writer)
        try:
            yield uow
        finally:
            await uow.close()
