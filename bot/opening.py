"""The survey service: opening a survey from what a citizen brings (an invitation token or an
office code), resuming it, and answering it, for every channel. The Telegram handlers and the
web pages translate their events into these calls and render what comes back; each call works
in the unit of work it is given and commits it at its durable point (the start, the answer,
the last answer with the completion)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.engine.conversation import Completing, Conversation
from bot.engine.definition import Question, QuestionType, SurveyDefinition
from bot.engine.flow import AnswerValue, Completed, RawValue, Step
from core import invitations
from core.invitations import InvitationProblem
from core.models import Channel, PublicService, Respondent, Response, ResponseStatus, ServicePoint
from core.responses import LiveResponse, ServiceNames
from core.unit_of_work import UnitOfWork
from core.walk_ins import WalkIns

STALE_OFFICE_CODE = "office_code_stale"
WALK_IN_LIMIT = "walk_in_limit"


@dataclass(frozen=True)
class OfficeChoice:
    """An office code: the citizen picks which of its services they received. `day`: the
    code's day (YYYYMMDD); a choice offered from it lives as long as the code."""

    office: ServicePoint
    services: list[PublicService]
    day: str = ""


@dataclass(frozen=True)
class ServiceOffer:
    """A service picked from a choice offered earlier (a Telegram button): what it says it
    is, checked against the server's seal before anything opens."""

    office_id: int
    service_id: int
    day: str
    seal: str


@dataclass(frozen=True)
class Refused:
    """Nothing to open; `reason` is a message key."""

    reason: str


@dataclass(frozen=True)
class Pressed:
    """A button of the live question of the presser's own open survey. `fresh`: the response
    was just read from the database, not remembered from an earlier update."""

    live: LiveResponse
    question: Question
    fresh: bool


class LiveResponses:
    """This worker's memory of the open responses it served last, so that the next answer
    needs no read first. Safe across workers: every answer stored on what it remembers is
    checked by the storing statement (owner, status, answers so far), and a refusal is only
    given on what was just read. Bounded: the least recently used are forgotten."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._live: OrderedDict[int, LiveResponse] = OrderedDict()

    def get(self, response_id: int, owner_key: str) -> LiveResponse | None:
        live = self._live.get(response_id)
        if live is None or live.owner_key != owner_key:
            return None
        self._live.move_to_end(response_id)
        return live

    def keep(self, live: LiveResponse) -> None:
        self._live[live.id] = live
        self._live.move_to_end(live.id)
        if len(self._live) > self.capacity:
            self._live.popitem(last=False)

    def drop(self, response_id: int) -> None:
        self._live.pop(response_id, None)

    def forget_owner(self, owner_key: str) -> None:
        """/stop or a new language: nothing remembered of this person stays."""
        for response_id in [i for i, live in self._live.items() if live.owner_key == owner_key]:
            del self._live[response_id]


class ResponseClosed(Exception):
    """The response is no longer open to its presser (finished, stopped, someone else's)."""


class UnitAnswers:
    """The engine's AnswerStore over a unit of work: each answer stored is committed (the last
    one with the completion, one transaction). With `live`, on behalf of that response's
    owner: a response that is closed or not theirs raises ResponseClosed instead of taking
    an answer."""

    def __init__(self, uow: UnitOfWork, live: LiveResponse | None = None) -> None:
        self.uow = uow
        self.live = live

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]:
        if self.live is None:
            return await self.uow.responses.load_answers(response_id)
        found = await self.uow.responses.live_response(response_id, self.live.owner_key)
        if not isinstance(found, LiveResponse):
            raise ResponseClosed
        self.live.language = found.language
        return dict(found.answers)

    async def save_answer(
        self,
        response_id: int,
        question: str,
        value: AnswerValue,
        known: int | None = None,
        *,
        completing: Completing | None = None,
    ) -> bool:
        owner = self.live.owner_key if self.live is not None else None
        recorded = await self.uow.atomically(
            lambda: self.uow.responses.record_answer(
                response_id,
                question,
                value,
                known=known,
                owner_key=owner,
                completing=completing,
            ),
            f"answer to {response_id}",
        )
        if self.live is not None:
            if not recorded.open:
                raise ResponseClosed
            self.live.language = recorded.language
        return recorded.stored

    async def complete(
        self, response_id: int, metrics: list[tuple[str, str]], complaint_requested: bool
    ) -> None:
        await self.uow.atomically(
            lambda: self.uow.responses.complete(response_id, metrics, complaint_requested),
            f"completing {response_id}",
        )


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
        self.live = LiveResponses()

    def definition(self, survey_id: str) -> SurveyDefinition:
        return self.surveys.get(survey_id) or self.surveys[self.default_survey]

    async def open_payload(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        payload: str,
        channel: Channel,
        language: str,
    ) -> Response | OfficeChoice | Refused:
        """`/start <payload>` or a link: an invitation token or `o-<office code>`."""
        if invitations.is_office_payload(payload):
            return await self.open_office(uow, payload.removeprefix(invitations.OFFICE_PREFIX))
        return await self.open_invitation(uow, respondent, payload, channel, language)

    async def open_invitation(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        token: str,
        channel: Channel,
        language: str,
    ) -> Response | Refused:
        """Open the invitation's response, or continue it (the link is the citizen's key)."""
        found = await uow.responses.invitation_opening(token, respondent)
        if isinstance(found, InvitationProblem):
            return Refused(found.value)
        if found.open_response_id is not None:
            await self._settle_open_survey(uow, respondent)
        definition = self.definition(found.survey_id)
        opened = await uow.responses.start_for_invitation(
            found, respondent, channel, language, definition.version
        )
        if isinstance(opened, InvitationProblem):
            await uow.rollback()
            return Refused(opened.value)
        await uow.commit()
        self.live.drop(opened.id)  # it may have changed hands: read it afresh
        return opened

    async def open_office(
        self, uow: UnitOfWork, code: str, respondent: Respondent | None = None
    ) -> OfficeChoice | Refused:
        """A poster's code: today's (or within the grace days) opens the office's services;
        an old, forged or unsigned one is told to scan the poster in the office. A known
        `respondent` who already rated this office today (and has no walk-in here to carry on)
        is told so now, before picking a service."""
        read = self.walk_ins.codes.read_dated(code) if self.walk_ins is not None else None
        if read is None or self.walk_ins is None:
            return Refused(STALE_OFFICE_CODE)
        office_code, day = read
        office = await uow.office_by_code(office_code)
        if office is None:
            return Refused("office_unknown")
        if respondent is not None and await uow.walk_ins_used_up(
            self.walk_ins, respondent.key, office.id
        ):
            open_now = await uow.responses.open_response(respondent)
            if not (
                open_now is not None
                and open_now.walk_in
                and open_now.status is ResponseStatus.IN_PROGRESS
                and open_now.service_point_id == office.id
            ):
                return Refused(WALK_IN_LIMIT)
        return OfficeChoice(office, await uow.responses.services_at(office), day)

    def seal_offer(self, office_id: int, service_id: int, day: str) -> str:
        """The seal a channel puts on a service it offers from an OfficeChoice."""
        assert self.walk_ins is not None  # an OfficeChoice exists only with a walk-in policy
        return self.walk_ins.codes.offer_seal(office_id, service_id, day)

    async def start_offered_walk_in(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        offer: ServiceOffer,
        channel: Channel,
        language: str,
    ) -> Response | Refused:
        """A walk-in from a service offered earlier: nothing opens (and no open survey is
        stopped) unless this server sealed that office, service and day, and the day's code
        is still open."""
        if self.walk_ins is None or not self.walk_ins.codes.offer_open(
            offer.office_id, offer.service_id, offer.day, offer.seal
        ):
            return Refused(STALE_OFFICE_CODE)
        return await self.start_walk_in(
            uow, respondent, offer.office_id, offer.service_id, channel, language
        )

    async def start_walk_in(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        office_id: int,
        service_id: int,
        channel: Channel,
        language: str,
    ) -> Response | Refused:
        """Start (or resume) a walk-in at an office whose code the caller has just read (the
        web page reads it again with the form), or whose offer it has checked."""
        if self.walk_ins is None:
            return Refused(STALE_OFFICE_CODE)
        office = await uow.responses.office(office_id)
        service = await uow.responses.service(service_id)
        if office is None or service is None or service.agency_id != office.agency_id:
            return Refused("office_unknown")
        open_now = await self._settle_open_survey(uow, respondent)
        if (
            open_now is not None
            and open_now.walk_in
            and open_now.status is ResponseStatus.IN_PROGRESS
            and (open_now.service_point_id, open_now.service_id) == (office.id, service.id)
        ):
            return open_now  # the same choice again: carry on, it is not a second walk-in
        if not await uow.admit_walk_in(self.walk_ins, respondent.key, office.id):
            await uow.commit()  # the attempt counts
            return Refused(WALK_IN_LIMIT)
        definition = self.definition(service.survey_id)
        started = await uow.responses.start_walk_in(
            service, office, respondent, channel, language, definition.version
        )
        await uow.commit()
        return started

    async def _settle_open_survey(self, uow: UnitOfWork, respondent: Respondent) -> Response | None:
        """The person's open survey, if any, before another starts (and stops it). One with
        every answer given is completed now rather than stopped (its completion was lost)."""
        open_now = await uow.responses.open_response(respondent)
        if open_now is None:
            return None
        conversation = await self.conversation(uow, open_now)  # completes a finished one
        return None if isinstance(conversation.current(), Completed) else open_now

    async def conversation(self, uow: UnitOfWork, response: Response) -> Conversation:
        return await Conversation.resume(
            self.definition(response.survey_id), UnitAnswers(uow), response.id
        )

    async def resume(
        self, uow: UnitOfWork, response: Response, respondent: Respondent
    ) -> Conversation:
        """The conversation of an open response, remembered for the answers that follow."""
        conversation = await self.conversation(uow, response)
        service = response.service
        self.live.keep(
            LiveResponse(
                response.id,
                response.survey_id,
                ServiceNames(service.id, service.name_kk, service.name_ru, service.name_en),
                response.service_point_id,
                respondent.key,
                respondent.language,
                dict(conversation.answers),
            )
        )
        return conversation

    async def press(
        self,
        uow: UnitOfWork,
        owner_key: str,
        response_id: int,
        index: int,
        kind: QuestionType | None = None,
        *,
        fresh: bool = False,
    ) -> Pressed | Refused:
        """What a button refers to, or why it refers to nothing: someone else's or an unknown
        survey, a question index or type that does not match, a finished survey. Remembered
        responses serve the first look; a refusal is only given on a fresh one."""
        live = None if fresh else self.live.get(response_id, owner_key)
        remembered = live is not None
        if live is None:
            found = await uow.responses.live_response(response_id, owner_key)
            if not isinstance(found, LiveResponse):
                self.live.drop(response_id)
                return Refused("completed" if found is not None else "stale_button")
            live = found
            self.live.keep(live)
        questions = self.definition(live.survey_id).questions
        if not 0 <= index < len(questions) or (
            kind is not None and questions[index].type is not kind
        ):
            if remembered:
                return await self.press(uow, owner_key, response_id, index, kind, fresh=True)
            return Refused("stale_button")
        return Pressed(live, questions[index], fresh=not remembered)

    async def answer(self, uow: UnitOfWork, pressed: Pressed, raw: RawValue) -> Step | Refused:
        """Answer the pressed question; the step to show next, or why nothing was taken."""
        live = pressed.live
        conversation = Conversation(
            self.definition(live.survey_id),
            UnitAnswers(uow, live),
            live.id,
            live.answers,
            fresh=pressed.fresh,
        )
        try:
            step = await conversation.answer(pressed.question.name, raw)
        except ResponseClosed:
            self.live.drop(live.id)
            found = await uow.responses.live_response(live.id, live.owner_key)
            return Refused("completed" if isinstance(found, ResponseStatus) else "stale_button")
        live.answers = conversation.answers
        if isinstance(step, Completed):
            self.live.drop(live.id)
        return step
