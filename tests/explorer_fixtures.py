"""Raw responses for the explorer, the service and office pages and the posters: stored with
their answers (a comment carrying an IIN among them) and, for some, anti-gaming flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import (
    Answer,
    Channel,
    PublicService,
    Response,
    ResponseFlag,
    ResponseStatus,
    ServicePoint,
)
from scoring.privacy import iin_check_digit

IIN = "90010130012" + str(iin_check_digit("90010130012"))
IIN_COMMENT = f"Очередь была долгой, мой ИИН {IIN}, перезвоните"
ASTANA_COMMENT = "Астана: всё прошло хорошо"


@dataclass(frozen=True)
class Stored:
    almaty: int  # responses stored for the Almaty akimat
    astana: int
    flagged_id: int


async def store_raw_responses(session_factory: async_sessionmaker[AsyncSession]) -> Stored:
    """Almaty (ALA): 60 responses over 25 days (inside a 30-day period whatever the hour),
    ratings 1..5 in turn, Telegram and web, ru and kk; one with an IIN in its comment (the
    newest), one flagged fast. Astana (AST): 5."""
    now = datetime.now(UTC).replace(minute=7, second=13)
    async with session_factory() as db:
        services = {s.code: s for s in await db.scalars(select(PublicService))}
        offices = {o.code: o for o in await db.scalars(select(ServicePoint))}
        flagged_id = 0
        for number in range(60):
            response = _response(
                services["ALA-S1" if number % 2 else "ALA-S2"],
                offices["ALA-01"] if number % 3 else None,
                now - timedelta(hours=10 * number),
                Channel.WEB if number % 4 == 0 else Channel.TELEGRAM,
                "kk" if number % 5 == 0 else "ru",
                rating=number % 5 + 1,
                comment=IIN_COMMENT if number == 0 else ("Спасибо" if number % 7 == 0 else None),
            )
            db.add(response)
            await db.flush()
            if number == 1:
                flagged_id = response.id
                db.add(
                    ResponseFlag(response_id=response.id, reason="fast_completion", detail="9 s")
                )
        for number in range(5):
            db.add(
                _response(
                    services["AST-S1"],
                    offices["AST-01"],
                    now - timedelta(hours=number),
                    Channel.WEB,
                    "ru",
                    rating=1,
                    comment=ASTANA_COMMENT,
                )
            )
        await db.commit()
    return Stored(60, 5, flagged_id)


def _response(
    service: PublicService,
    office: ServicePoint | None,
    completed: datetime,
    channel: Channel,
    language: str,
    *,
    rating: int,
    comment: str | None,
) -> Response:
    response = Response(
        survey_id="post_service",
        survey_version="2026.1",
        language=language,
        status=ResponseStatus.COMPLETED,
        channel=channel,
        service_id=service.id,
        service_point_id=office.id if office else None,
        started_at=completed - timedelta(minutes=2),
        updated_at=completed,
        completed_at=completed,
    )
    response.answers = [
        Answer(question="overall", value=rating, answered_at=completed),
        Answer(question="deadline_met", value="yes", answered_at=completed),
        Answer(question="reasons", value=["waiting_time"], answered_at=completed),
    ]
    if comment is not None:
        response.answers.append(Answer(question="comment", value=comment, answered_at=completed))
    return response
