"""Respondents and responses: the storage side of a survey conversation.

`ResponseStore` is the unit of work of one update or request. It commits at every durable
point (each answer, each completion), so a crash or a lost Redis never loses an answer given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from core import funnel
from core.clock import utcnow
from core.identity import AddressBox
from core.integrity import on_completed
from core.invitations import InvitationProblem
from core.models import (
    Answer,
    Base,
    Channel,
    ChatAddress,
    ComplaintRequest,
    Invitation,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServicePoint,
)

AnswerValue = Any

# The hot path of every answer. Written as text so SQLAlchemy caches its compiled form (the
# dialects' on-conflict inserts are recompiled on every call); the same SQL runs on SQLite
# and PostgreSQL. The unique (response, question) key makes a second answer a no-op.
INSERT_ANSWER = text(
    "INSERT INTO answer (response_id, question, value, answered_at) "
    "VALUES (:response_id, :question, :value, :answered_at) "
    "ON CONFLICT (response_id, question) DO NOTHING"
).bindparams(
    bindparam("value", type_=Answer.__table__.c.value.type),
    bindparam("answered_at", type_=Answer.__table__.c.answered_at.type),
)


class ResponseStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Respondents ----------------------------------------------------------------------------

    async def respondent(self, key: str, language: str | None = None) -> Respondent:
        """The respondent with this pseudonym, created on first contact (race-safe)."""
        found = await self.session.scalar(select(Respondent).where(Respondent.key == key))
        if found is not None:
            return found
        await self.session.execute(
            self._insert(Respondent)
            .values(key=key, language=language, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await self.session.commit()
        created = await self.session.scalar(select(Respondent).where(Respondent.key == key))
        assert created is not None
        return created

    async def set_language(self, respondent: Respondent, language: str) -> None:
        respondent.language = language
        await self.session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(language=language)
        )
        await self.session.commit()

    async def remember_address(
        self, respondent: Respondent, channel: Channel, address: str, box: AddressBox
    ) -> None:
        """Keep (encrypted, apart from answers) what is needed to write back to this person."""
        existing = await self.session.scalar(
            select(ChatAddress.encrypted_address).where(ChatAddress.respondent_id == respondent.id)
        )
        if existing is not None and box.open(existing) == address:
            return
        statement = self._insert(ChatAddress).values(
            respondent_id=respondent.id,
            channel=channel,
            encrypted_address=box.seal(address),
            created_at=utcnow(),
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["respondent_id"],
                set_={"encrypted_address": statement.excluded.encrypted_address},
            )
        )
        await self.session.commit()

    async def forget(self, respondent: Respondent) -> None:
        """/stop: stop any open survey, delete the write-back address and the pseudonym itself.
        Completed answers stay, anonymous, no longer linked to anyone."""
        await self.session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(status=ResponseStatus.STOPPED, updated_at=utcnow())
        )
        await self.session.execute(
            delete(ChatAddress).where(ChatAddress.respondent_id == respondent.id)
        )
        await self.session.execute(
            update(Response)
            .where(Response.respondent_id == respondent.id)
            .values(respondent_id=None)
        )
        await self.session.execute(delete(Respondent).where(Respondent.id == respondent.id))
        await self.session.commit()

    def _insert(self, model: type[Base]) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    # Responses ------------------------------------------------------------------------------

    async def open_response(self, respondent: Respondent) -> Response | None:
        """The respondent's unfinished survey, if any (the newest)."""
        found: Response | None = await self.session.scalar(
            select(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .order_by(Response.id.desc())
            .limit(1)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def response(self, response_id: int) -> Response | None:
        found: Response | None = await self.session.scalar(
            select(Response)
            .where(Response.id == response_id)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def start_for_invitation(
        self,
        invitation: Invitation,
        respondent: Respondent,
        channel: Channel,
        language: str,
        survey_version: str,
    ) -> Response | InvitationProblem:
        """Open (or resume) the one response of an invitation. Someone else's, or a finished
        one, means the link is used up."""
        existing = await self.session.scalar(
            select(Response).where(Response.invitation_id == invitation.id)
        )
        if existing is not None:
            mine = existing.respondent_id == respondent.id
            if mine and existing.status is ResponseStatus.IN_PROGRESS:
                return await self._reload(existing.id)
            return InvitationProblem.USED
        await self._stop_other_open_responses(respondent)
        event = invitation.service_event
        now = utcnow()
        response = Response(
            respondent_id=respondent.id,
            survey_id=invitation.survey_id,
            survey_version=survey_version,
            channel=channel,
            language=language,
            invitation_id=invitation.id,
            service_event_id=event.id,
            service_id=event.service_id,
            service_point_id=event.service_point_id,
            walk_in=False,
            started_at=now,
            updated_at=now,
        )
        self.session.add(response)
        invitation.used_at = now
        try:
            await funnel.count(
                self.session,
                funnel.FunnelStep.STARTED,
                agency_id=event.service.agency_id,
                service_id=event.service_id,
                service_point_id=event.service_point_id,
                delivered_at=event.delivered_at,
            )
            await self.session.commit()
        except IntegrityError:
            # Two taps on the same link at once: the other one won.
            await self.session.rollback()
            return InvitationProblem.USED
        return await self._reload(response.id)

    async def start_walk_in(
        self,
        service: PublicService,
        office: ServicePoint | None,
        respondent: Respondent,
        channel: Channel,
        language: str,
        survey_version: str,
    ) -> Response:
        """A response from an office QR code: no service event behind it, marked as walk-in."""
        await self._stop_other_open_responses(respondent)
        now = utcnow()
        response = Response(
            respondent_id=respondent.id,
            survey_id=service.survey_id,
            survey_version=survey_version,
            channel=channel,
            language=language,
            service_id=service.id,
            service_point_id=office.id if office else None,
            walk_in=True,
            started_at=now,
            updated_at=now,
        )
        self.session.add(response)
        await self.session.commit()
        return await self._reload(response.id)

    async def _stop_other_open_responses(self, respondent: Respondent) -> None:
        # One survey at a time per person: starting another leaves the old one as it is (partial).
        await self.session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(status=ResponseStatus.STOPPED, updated_at=utcnow())
        )

    async def _reload(self, response_id: int) -> Response:
        response = await self.response(response_id)
        assert response is not None
        return response

    async def services_at(self, office: ServicePoint) -> list[PublicService]:
        result = await self.session.scalars(
            select(PublicService)
            .where(PublicService.agency_id == office.agency_id)
            .order_by(PublicService.code)
        )
        return list(result)

    async def service(self, service_id: int) -> PublicService | None:
        return await self.session.get(PublicService, service_id)

    async def office(self, office_id: int) -> ServicePoint | None:
        return await self.session.get(ServicePoint, office_id)

    # The engine's AnswerStore ---------------------------------------------------------------

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]:
        rows = await self.session.execute(
            select(Answer.question, Answer.value).where(Answer.response_id == response_id)
        )
        return {question: value for question, value in rows}

    async def save_answer(self, response_id: int, question: str, value: AnswerValue) -> bool:
        now = utcnow()
        inserted = await self.session.execute(
            INSERT_ANSWER,
            {"response_id": response_id, "question": question, "value": value, "answered_at": now},
        )
        if getattr(inserted, "rowcount", 1) != 1:
            return False
        await self.session.execute(
            update(Response).where(Response.id == response_id).values(updated_at=now)
        )
        await self.session.commit()
        return True

    async def complete(
        self,
        response_id: int,
        metrics: Iterable[tuple[str, str]],
        complaint_requested: bool,
    ) -> None:
        now = utcnow()
        result = await self.session.execute(
            update(Response)
            .where(Response.id == response_id, Response.status == ResponseStatus.IN_PROGRESS)
            .values(status=ResponseStatus.COMPLETED, completed_at=now, updated_at=now)
        )
        if getattr(result, "rowcount", 1) == 0:
            return  # completed already (a duplicate delivery)
        response = await self._reload(response_id)
        response.completed_at = now
        if complaint_requested:
            self.session.add(ComplaintRequest(response_id=response_id, created_at=now))
        await on_completed(self.session, response, response.service.agency_id, metrics)
        await funnel.count_event(
            self.session, funnel.FunnelStep.COMPLETED, response.service_event_id
        )
        await self.session.commit()
