"""Opening a survey from what a citizen brings (an invitation token or an office code), for any
channel. Channels translate their events into these calls and render what comes back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.engine.conversation import Conversation
from bot.engine.definition import SurveyDefinition
from core import invitations
from core.invitations import InvitationProblem
from core.models import (
    Channel,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServicePoint,
)
from core.responses import ResponseStore
from core.walk_ins import WalkIns

STALE_OFFICE_CODE = "office_code_stale"
WALK_IN_LIMIT = "walk_in_limit"


@dataclass(frozen=True)
class OfficeChoice:
    """An office code: the citizen picks which of its services they received."""

    office: ServicePoint
    services: list[PublicService]


@dataclass(frozen=True)
class Refused:
    """Nothing to open; `reason` is a message key."""

    reason: str


class SurveyDesk:
    """Opens and resumes conversations over the shipped survey definitions."""

    def __init__(
        self,
        surveys: dict[str, SurveyDefinition],
        default_survey: str,
        walk_ins: WalkIns | None = None,
    ) -> None:
        self.surveys = surveys
        self.default_survey = default_survey
        # Without a walk-in policy (no key to read poster codes with), offices open nothing.
        self.walk_ins = walk_ins

    def definition(self, survey_id: str) -> SurveyDefinition:
        return self.surveys.get(survey_id) or self.surveys[self.default_survey]

    async def open_payload(
        self,
        store: ResponseStore,
        respondent: Respondent,
        payload: str,
        channel: Channel,
        language: str,
    ) -> Response | OfficeChoice | Refused:
        """`/start <payload>` or a link: an invitation token or `o-<office code>`."""
        if invitations.is_office_payload(payload):
            return await self.open_office(store, payload.removeprefix(invitations.OFFICE_PREFIX))
        return await self.open_invitation(store, respondent, payload, channel, language)

    async def open_invitation(
        self,
        store: ResponseStore,
        respondent: Respondent,
        token: str,
        channel: Channel,
        language: str,
    ) -> Response | Refused:
        found = await invitations.find(store.session, token)
        if isinstance(found, InvitationProblem):
            return Refused(found.value)
        definition = self.definition(found.survey_id)
        opened = await store.start_for_invitation(
            found, respondent, channel, language, definition.version
        )
        if isinstance(opened, InvitationProblem):
            return Refused(opened.value)
        return opened

    async def open_office(self, store: ResponseStore, code: str) -> OfficeChoice | Refused:
        """A poster's code: today's (or within the grace days) opens the office's services;
        an old, forged or unsigned one is told to scan the poster in the office."""
        office_code = self.walk_ins.codes.read(code) if self.walk_ins is not None else None
        if office_code is None:
            return Refused(STALE_OFFICE_CODE)
        office = await invitations.find_office(store.session, office_code)
        if office is None:
            return Refused("office_unknown")
        return OfficeChoice(office, await store.services_at(office))

    async def start_walk_in(
        self,
        store: ResponseStore,
        respondent: Respondent,
        office_id: int,
        service_id: int,
        channel: Channel,
        language: str,
        offered_at: datetime | None = None,
    ) -> Response | Refused:
        """Start (or resume) a walk-in; `offered_at`: when the office's service choice was
        shown, if the channel keeps it around (a Telegram keyboard can be pressed days later)."""
        if self.walk_ins is None:
            return Refused(STALE_OFFICE_CODE)
        if offered_at is not None and not self.walk_ins.codes.still_open(offered_at):
            return Refused(STALE_OFFICE_CODE)
        office = await store.office(office_id)
        service = await store.service(service_id)
        if office is None or service is None or service.agency_id != office.agency_id:
            return Refused("office_unknown")
        open_now = await store.open_response(respondent)
        if (
            open_now is not None
            and open_now.walk_in
            and open_now.status is ResponseStatus.IN_PROGRESS
            and (open_now.service_point_id, open_now.service_id) == (office.id, service.id)
        ):
            return open_now  # the same choice again: carry on, it is not a second walk-in
        if not await self.walk_ins.admit(store.session, respondent.key, office.id):
            await store.session.commit()
            return Refused(WALK_IN_LIMIT)
        definition = self.definition(service.survey_id)
        return await store.start_walk_in(
            service, office, respondent, channel, language, definition.version
        )

    async def conversation(self, store: ResponseStore, response: Response) -> Conversation:
        return await Conversation.resume(self.definition(response.survey_id), store, response.id)
