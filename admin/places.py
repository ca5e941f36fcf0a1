"""What one service's or one office's page shows, read in one go: the agency's figures narrowed
to it, its recent comments (scrubbed) and its invitation funnel. A service or office of another
agency, or of an agency the reader may not see, is not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from admin import explorer, figures
from admin.figures import AgencyFigures, Breakdown, Funnel
from admin.scope import Reader
from admin.survey_questions import SurveyQuestions
from admin.tallies import TallyMemory
from core.models import Agency, PublicService, ServicePoint

PlaceKind = Literal["service", "office"]


class PlaceNotFound(Exception):
    """`reason` is the message key saying what was not found."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Place:
    agency: Agency
    service: PublicService | None
    office: ServicePoint | None
    figures: AgencyFigures
    comments: list[tuple[date, str]]
    funnel: Funnel

    @property
    def place(self) -> PublicService | ServicePoint:
        found = self.service or self.office
        assert found is not None
        return found


@dataclass(frozen=True)
class PlaceQuery:
    kind: PlaceKind
    agency_code: str
    code: str  # the service's or the office's
    since: date | None
    lang: str
    no_office: str  # how the breakdowns name "no office"
    comments: int = 10


async def place_figures(
    db: AsyncSession,
    reader: Reader,
    wanted: PlaceQuery,
    questions: SurveyQuestions,
    memory: TallyMemory | None = None,
) -> Place:
    agency = await figures.visible_agency(db, reader, wanted.agency_code)
    if agency is None:
        raise PlaceNotFound("agency_not_found")
    service = office = None
    if wanted.kind == "service":
        service = await figures.visible_service(db, reader, agency, wanted.code)
        if service is None:
            raise PlaceNotFound("service_not_found")
    else:
        office = await figures.visible_office(db, reader, agency, wanted.code)
        if office is None:
            raise PlaceNotFound("office_not_found")
    service_id = service.id if service else None
    office_id = office.id if office else None
    return Place(
        agency=agency,
        service=service,
        office=office,
        figures=await figures.agency_figures(
            db,
            reader,
            agency,
            wanted.since,
            wanted.lang,
            service,
            no_office=wanted.no_office,
            office=office,
            memory=memory,
        ),
        comments=await explorer.recent_comments(
            db,
            reader,
            questions,
            agency_id=agency.id,
            service_id=service_id,
            office_id=office_id,
            since=wanted.since,
            limit=wanted.comments,
        ),
        funnel=await figures.funnel(db, reader, wanted.since, agency.id, service_id, office_id),
    )


@dataclass(frozen=True)
class AgencyView:
    """One agency's page: its figures (narrowed to `service` when one is chosen), the services
    to choose from, recent comments and the funnel."""

    agency: Agency
    service: PublicService | None
    figures: AgencyFigures
    service_choices: list[Breakdown]
    comments: list[tuple[date, str]]
    funnel: Funnel


async def agency_view(
    db: AsyncSession,
    reader: Reader,
    wanted: PlaceQuery,
    questions: SurveyQuestions,
    memory: TallyMemory | None = None,
) -> AgencyView:
    """`wanted.code`: the chosen service's code, or empty for the whole agency."""
    agency = await figures.visible_agency(db, reader, wanted.agency_code)
    if agency is None:
        raise PlaceNotFound("agency_not_found")
    service = None
    if wanted.code:
        service = await figures.visible_service(db, reader, agency, wanted.code)
        if service is None:
            raise PlaceNotFound("service_not_found")
    since, lang = wanted.since, wanted.lang
    found = await figures.agency_figures(
        db, reader, agency, since, lang, service, no_office=wanted.no_office, memory=memory
    )
    everything = (
        await figures.agency_figures(db, reader, agency, since, lang, memory=memory)
        if service
        else found
    )
    service_id = service.id if service else None
    return AgencyView(
        agency=agency,
        service=service,
        figures=found,
        service_choices=everything.services,
        comments=await explorer.recent_comments(
            db, reader, questions, agency_id=agency.id, service_id=service_id, since=since
        ),
        funnel=await figures.funnel(db, reader, since, agency.id, service_id),
    )
