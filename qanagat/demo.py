"""Demo data for `make run`: the real structure of the evaluation (16 central bodies, 14 regions
and 3 cities), services, offices, and a few hundred synthetic responses through the real
storage path (answers, completion, rollups). Deterministic: the same seed gives the same data."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.definition import QuestionType, SurveyDefinition
from bot.engine.flow import AnswerValue, Ask, metric_values, next_step
from core import invitations
from core.clock import utcnow
from core.identity import respondent_key
from core.models import (
    Agency,
    AgencyKind,
    Answer,
    Channel,
    DeliveryChannel,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServiceEvent,
    ServicePoint,
)
from core.responses import ResponseStore

CENTRAL = [
    ("MJ", "Әділет министрлігі", "Министерство юстиции", "Ministry of Justice"),
    (
        "MIA",
        "Ішкі істер министрлігі",
        "Министерство внутренних дел",
        "Ministry of Internal Affairs",
    ),
    (
        "MLSP",
        "Еңбек және халықты әлеуметтік қорғау министрлігі",
        "Министерство труда и социальной защиты населения",
        "Ministry of Labour and Social Protection",
    ),
    ("MH", "Денсаулық сақтау министрлігі", "Министерство здравоохранения", "Ministry of Health"),
    ("MOE", "Оқу-ағарту министрлігі", "Министерство просвещения", "Ministry of Education"),
    ("MF", "Қаржы министрлігі", "Министерство финансов", "Ministry of Finance"),
    (
        "MA",
        "Ауыл шаруашылығы министрлігі",
        "Министерство сельского хозяйства",
        "Ministry of Agriculture",
    ),
    ("MT", "Көлік министрлігі", "Министерство транспорта", "Ministry of Transport"),
    (
        "MIID",
        "Өнеркәсіп және құрылыс министрлігі",
        "Министерство промышленности и строительства",
        "Ministry of Industry and Construction",
    ),
    (
        "MENR",
        "Экология және табиғи ресурстар министрлігі",
        "Министерство экологии и природных ресурсов",
        "Ministry of Ecology and Natural Resources",
    ),
    (
        "MNE",
        "Ұлттық экономика министрлігі",
        "Министерство национальной экономики",
        "Ministry of National Economy",
    ),
    (
        "MCI",
        "Мәдениет және ақпарат министрлігі",
        "Министерство культуры и информации",
        "Ministry of Culture and Information",
    ),
    (
        "MDAI",
        "Жасанды интеллект және цифрлық даму министрлігі",
        "Министерство искусственного интеллекта и цифрового развития",
        "Ministry of AI and Digital Development",
    ),
    (
        "MSHE",
        "Ғылым және жоғары білім министрлігі",
        "Министерство науки и высшего образования",
        "Ministry of Science and Higher Education",
    ),
    (
        "MTS",
        "Туризм және спорт министрлігі",
        "Министерство туризма и спорта",
        "Ministry of Tourism and Sport",
    ),
    (
        "MEM",
        "Төтенше жағдайлар министрлігі",
        "Министерство по чрезвычайным ситуациям",
        "Ministry of Emergency Situations",
    ),
]

LOCAL = [
    ("ABAI", "Абай облысы", "Абайская область", "Abai Region"),
    ("AKM", "Ақмола облысы", "Акмолинская область", "Akmola Region"),
    ("AKT", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region"),
    ("ALM", "Алматы облысы", "Алматинская область", "Almaty Region"),
    ("ATR", "Атырау облысы", "Атырауская область", "Atyrau Region"),
    ("WKO", "Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region"),
    ("ZHM", "Жамбыл облысы", "Жамбылская область", "Jambyl Region"),
    ("ZHT", "Жетісу облысы", "Область Жетісу", "Jetisu Region"),
    ("KAR", "Қарағанды облысы", "Карагандинская область", "Karaganda Region"),
    ("KOS", "Қостанай облысы", "Костанайская область", "Kostanay Region"),
    ("KZO", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region"),
    ("MAN", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region"),
    ("PAV", "Павлодар облысы", "Павлодарская область", "Pavlodar Region"),
    (
        "NKO",
        "Солтүстік Қазақстан облысы",
        "Северо-Казахстанская область",
        "North Kazakhstan Region",
    ),
    ("AST", "Астана қаласы", "город Астана", "Astana"),
    ("ALA", "Алматы қаласы", "город Алматы", "Almaty"),
    ("SHY", "Шымкент қаласы", "город Шымкент", "Shymkent"),
]

CENTRAL_SERVICES = [
    ("Анықтама беру", "Выдача справки", "Issuing a certificate"),
    ("Лицензия беру", "Выдача лицензии", "Issuing a licence"),
]
LOCAL_SERVICES = [
    ("Жер учаскесін беру", "Предоставление земельного участка", "Allocation of a land plot"),
    (
        "Балабақшаға кезекке қою",
        "Постановка в очередь в детский сад",
        "Kindergarten waiting list registration",
    ),
    ("Тұрғын үй көмегін тағайындау", "Назначение жилищной помощи", "Housing assistance"),
]

DEMO_OFFICE = "ALA-01"
DEMO_SERVICE = "ALA-S1"


@dataclass(frozen=True)
class DemoSummary:
    agencies: int
    services: int
    offices: int
    responses: int


async def is_loaded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Agency)))


async def load(
    session: AsyncSession,
    survey: SurveyDefinition,
    secret: bytes,
    responses: int = 400,
    seed: int = 2026,
) -> DemoSummary:
    """Create the demo agencies, services, offices and responses (once; later calls add nothing)."""
    if await is_loaded(session):
        return await summary(session)
    rng = random.Random(seed)
    services: list[tuple[PublicService, ServicePoint | None, float]] = []
    for kind, rows, catalogue in (
        (AgencyKind.CENTRAL, CENTRAL, CENTRAL_SERVICES),
        (AgencyKind.LOCAL, LOCAL, LOCAL_SERVICES),
    ):
        for code, kk, ru, en in rows:
            agency = Agency(
                code=code,
                kind=kind,
                region=code if kind is AgencyKind.LOCAL else None,
                name_kk=kk,
                name_ru=ru,
                name_en=en,
                language="kk",
            )
            session.add(agency)
            await session.flush()
            office = ServicePoint(
                code=f"{code}-01",
                agency_id=agency.id,
                region=agency.region,
                name_kk=f"{kk}: №1 қызмет көрсету орталығы",
                name_ru=f"{ru}: центр обслуживания №1",
                name_en=f"{en}: service centre No 1",
            )
            session.add(office)
            # Each agency gets its own level of satisfaction, so scores spread believably.
            quality = rng.uniform(0.45, 0.95)
            for number, (skk, sru, sen) in enumerate(catalogue, start=1):
                service = PublicService(
                    code=f"{code}-S{number}",
                    agency_id=agency.id,
                    name_kk=skk,
                    name_ru=sru,
                    name_en=sen,
                    survey_id=survey.id,
                )
                session.add(service)
                services.append((service, office, quality))
    await session.flush()
    store = ResponseStore(session)
    for number in range(responses):
        service, office, quality = rng.choice(services)
        await _synthetic_response(store, survey, service, office, quality, rng, secret, number)
    await session.commit()
    return await summary(session)


async def _synthetic_response(
    store: ResponseStore,
    survey: SurveyDefinition,
    service: PublicService,
    office: ServicePoint | None,
    quality: float,
    rng: random.Random,
    secret: bytes,
    number: int,
) -> None:
    session = store.session
    delivered = utcnow() - timedelta(days=rng.randint(0, 89), minutes=rng.randint(0, 600))
    event = ServiceEvent(
        external_id=f"demo-{number}",
        service_id=service.id,
        service_point_id=office.id if office else None,
        delivery_channel=rng.choice(list(DeliveryChannel)),
        delivered_at=delivered,
    )
    session.add(event)
    await session.flush()
    issued = await invitations.issue(session, event, survey.id, survey.invitation_ttl_hours)
    respondent = Respondent(
        key=respondent_key(secret, "demo", number), language=rng.choice(["kk", "ru", "ru", "en"])
    )
    session.add(respondent)
    await session.flush()
    answers = _synthetic_answers(survey, quality, rng)
    completed = delivered + timedelta(minutes=rng.randint(3, 90))
    response = Response(
        respondent_id=respondent.id,
        survey_id=survey.id,
        survey_version=survey.version,
        channel=rng.choice([Channel.TELEGRAM, Channel.TELEGRAM, Channel.WEB]),
        language=respondent.language or "kk",
        status=ResponseStatus.COMPLETED,
        invitation_id=issued.invitation.id,
        service_event_id=event.id,
        service_id=service.id,
        service_point_id=event.service_point_id,
        started_at=completed - timedelta(minutes=2),
        updated_at=completed,
        completed_at=completed,
    )
    session.add(response)
    await session.flush()
    issued.invitation.used_at = response.started_at
    session.add_all(
        Answer(response_id=response.id, question=name, value=value, answered_at=completed)
        for name, value in answers.items()
    )
    from core.integrity import on_completed

    # Like a real completion: rollups (or a flag) and the ledger.
    await on_completed(session, response, service.agency_id, metric_values(survey, answers))


def _synthetic_answers(
    survey: SurveyDefinition, quality: float, rng: random.Random
) -> dict[str, AnswerValue]:
    """Walk the survey like a respondent of this quality would, following its skip logic."""
    answers: dict[str, AnswerValue] = {}
    while isinstance(step := next_step(survey, answers), Ask):
        question = step.question
        good = rng.random() < quality
        value: AnswerValue
        if question.type is QuestionType.RATING:
            value = rng.choice([4, 5, 5]) if good else rng.choice([1, 2, 3])
        elif question.type is QuestionType.NPS:
            value = rng.randint(8, 10) if good else rng.randint(0, 7)
        elif question.type is QuestionType.YES_NO:
            bad_when_yes = question.metric in ("unjustified_refusal", "extra_documents_demanded")
            value = (not good) if bad_when_yes else good
            if question.action is not None:
                value = rng.random() < 0.3
        elif question.type is QuestionType.SELECT_ONE:
            value = rng.choice(question.choices).name
        elif question.type is QuestionType.SELECT_MULTIPLE:
            value = sorted({rng.choice(question.choices).name for _ in range(rng.randint(1, 2))})
        else:
            value = None
        answers[question.name] = value
    return answers


async def summary(session: AsyncSession) -> DemoSummary:
    async def count(model: type) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return DemoSummary(
        await count(Agency),
        await count(PublicService),
        await count(ServicePoint),
        await count(Response),
    )


async def fresh_invitation_link(
    session: AsyncSession, survey: SurveyDefinition, public_url: str
) -> str | None:
    """A new invitation for the demo service, as if a citizen had just been served."""
    service = await session.scalar(select(PublicService).where(PublicService.code == DEMO_SERVICE))
    office = await session.scalar(select(ServicePoint).where(ServicePoint.code == DEMO_OFFICE))
    if service is None:
        return None
    event = ServiceEvent(
        external_id=f"demo-live-{invitations.fresh_token()}",
        service_id=service.id,
        service_point_id=office.id if office else None,
        delivery_channel=DeliveryChannel.SERVICE_CENTRE,
        delivered_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    issued = await invitations.issue(session, event, survey.id, survey.invitation_ttl_hours)
    await session.commit()
    return f"{public_url.rstrip('/')}/s/{issued.token}"
