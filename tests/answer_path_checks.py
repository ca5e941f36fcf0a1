"""What an auditor checks after any trouble on the answer path: every completed response
counted once in the funnel, the rollups and the ledger, and none left in progress with every
answer given. The chain keeper counts completions about a second after they commit; the
tally lets it finish first (`ledger.seal_all`), as a server's keeper would."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.flow import Completed, next_step
from core.integrity import ledger
from core.models import (
    Answer,
    DailyRollup,
    FunnelDaily,
    LedgerEntry,
    LedgerPending,
    Response,
    ResponseStatus,
)
from tests.conftest import LENIENT, SURVEYS


@dataclass(frozen=True)
class Tally:
    completed: int  # responses completed
    funnel_completed: int  # the funnel's "completed" step, summed over days
    rollup_responses: int  # the rollups' count of responses
    ledger: int  # ledger entries, chained or queued
    stuck: int  # in progress, though every answer is there
    answers: int

    @property
    def consistent(self) -> bool:
        """Each completion counted once everywhere (walk-ins have no funnel: pass `invited`)."""
        return self.stuck == 0 and self.completed == self.rollup_responses == self.ledger


async def tally(session_factory: async_sessionmaker[AsyncSession]) -> Tally:
    """The counts once the queue is counted and chained."""
    await ledger.seal_all(session_factory, LENIENT)
    async with session_factory() as session:
        completed = await session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.status == ResponseStatus.COMPLETED)
        )
        funnel = await session.scalar(select(func.coalesce(func.sum(FunnelDaily.completed), 0)))
        rollup = await session.scalar(
            select(func.coalesce(func.sum(DailyRollup.count), 0)).where(
                DailyRollup.metric == "responses"
            )
        )
        chained = await session.scalar(select(func.count()).select_from(LedgerEntry))
        queued = await session.scalar(select(func.count()).select_from(LedgerPending))
        answers = await session.scalar(select(func.count()).select_from(Answer))
        stuck = 0
        for response in await session.scalars(
            select(Response).where(Response.status == ResponseStatus.IN_PROGRESS)
        ):
            given = dict(
                (
                    await session.execute(
                        select(Answer.question, Answer.value).where(
                            Answer.response_id == response.id
                        )
                    )
                ).all()
            )
            if isinstance(next_step(SURVEYS[response.survey_id], given), Completed):
                stuck += 1
    return Tally(
        int(completed or 0),
        int(funnel or 0),
        int(rollup or 0),
        int(chained or 0) + int(queued or 0),
        stuck,
        int(answers or 0),
    )
