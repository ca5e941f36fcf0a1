"""Demo data for `make run`: the real structure of the evaluation (16 central bodies, 14 regions
and 3 cities), services, offices, the demo indicators (qanagat/demo_indicators.csv, imported
through the import path) and about 200 synthetic completed responses per body for the demo year,
stored in bulk with the rollups a live completion would add. Deterministic: the same seed gives
the same data (only the invitation tokens are random)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.definition import QuestionType, SurveyDefinition
from bot.engine.flow import AnswerValue, Ask, complaint_requested, metric_values, next_step
from core import invitations
from core.clock import utcnow
from core.identity import respondent_key, token_hash
from core.indicators import check_indicator_file, store_indicators
from core.integrity import ledger
from core.integrity.flags import Rules
from core.models import (
    Agency,
    AgencyKind,
    Answer,
    Base,
    Channel,
    ComplaintRequest,
    Dataset,
    DatasetRating,
    DeliveryChannel,
    IndicatorValue,
    Invitation,
    PublicService,
    Respondent,
    Response,
    ResponseSignal,
    ResponseStatus,
    ServiceEvent,
    ServicePoint,
)
from core.rollups import add_rollup_rows, merge_rollup_rows, rollup_rows
from qanagat import demo_datasets
from qanagat.demo_indicators import DEMO_PERIOD as DEMO_PERIOD
from qanagat.demo_indicators import INDICATORS_FILE, demo_codes, profiles
from qanagat.progress import progress_bar

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
DEMO_RESPONSES = 6600  # about 200 per body: every body above the minimum sample of 100
MIN_PER_AGENCY = 110
EVENT_PREFIX = f"demo-{DEMO_PERIOD}-"
# how services were delivered, and how often (service centres carry most of the load)
DELIVERY: tuple[tuple[DeliveryChannel, int], ...] = (
    (DeliveryChannel.SERVICE_CENTRE, 5),
    (DeliveryChannel.AGENCY_OFFICE, 2),
    (DeliveryChannel.EGOV, 3),
    (DeliveryChannel.PROACTIVE, 1),
)
AT_AN_OFFICE = (DeliveryChannel.SERVICE_CENTRE, DeliveryChannel.AGENCY_OFFICE)


@dataclass(frozen=True)
class DemoSummary:
    agencies: int
    services: int
    offices: int
    responses: int
    indicators: int
    datasets: int = 0
    dataset_ratings: int = 0


async def is_loaded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Agency)))


async def load(
    session: AsyncSession,
    survey: SurveyDefinition,
    secret: bytes,
    rules: Rules,
    responses: int = DEMO_RESPONSES,
    seed: int = 2026,
) -> DemoSummary:
    """Create the demo bodies, services and offices, import the demo indicators, add
    `responses` synthetic completed responses for the demo year, a small open-data registry with
    its ratings and problem reports, and score that year under both methodologies (each step
    once: a later call adds nothing)."""
    with progress_bar("loading the demo", 5) as advance:
        if not await is_loaded(session):
            await _create_agencies(session, survey)
        advance(1)
        await import_demo_indicators(session)
        advance(1)
        if not await _responses_loaded(session):
            await _synthetic_responses(session, survey, secret, rules, responses, seed)
        advance(1)
        await demo_datasets.load(session, profiles(demo_codes()), seed)
        await session.commit()
        advance(1)
        await score_demo_year(session)
        advance(1)
    return await summary(session)


async def score_demo_year(session: AsyncSession) -> None:
    """Store score runs of the demo year under both published methodologies, so the admin's
    ranking has figures right after `make run` (once: a later load keeps the stored runs)."""
    from core.periods import parse_period
    from core.score_runs import scored_periods
    from qanagat.scores import score_period

    if DEMO_PERIOD in await scored_periods(session):
        return
    await score_period(session, parse_period(DEMO_PERIOD))
    await publish_demo_year(session)
    await session.commit()


async def publish_demo_year(session: AsyncSession) -> None:
    """Publish the demo year's newest run of each methodology, as an administrator would after
    checking it, so the public results pages and the open data have figures after `make run`."""
    from core.score_runs import latest_score_run, publish_score_run
    from qanagat.scores import PUBLISHED_METHODOLOGIES

    for methodology in PUBLISHED_METHODOLOGIES:
        run = await latest_score_run(session, methodology, DEMO_PERIOD)
        if run is not None:
            await publish_score_run(session, run, by="demo")


async def _create_agencies(session: AsyncSession, survey: SurveyDefinition) -> None:
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
            for number in (1, 2):
                session.add(
                    ServicePoint(
                        code=f"{code}-{number:02d}",
                        agency_id=agency.id,
                        region=agency.region,
                        name_kk=f"{kk}: №{number} қызмет көрсету орталығы",
                        name_ru=f"{ru}: центр обслуживания №{number}",
                        name_en=f"{en}: service centre No {number}",
                    )
                )
            for number, (skk, sru, sen) in enumerate(catalogue, start=1):
                session.add(
                    PublicService(
                        code=f"{code}-S{number}",
                        agency_id=agency.id,
                        name_kk=skk,
                        name_ru=sru,
                        name_en=sen,
                        survey_id=survey.id,
                    )
                )
    await session.flush()


async def import_demo_indicators(session: AsyncSession) -> int:
    """Import the shipped demo indicators through the import path (a re-import replaces)."""
    from admin.indicator_uploads import input_rules

    content = INDICATORS_FILE.read_bytes()
    rows = await check_indicator_file(session, content, INDICATORS_FILE.name, input_rules())
    return await store_indicators(session, rows, INDICATORS_FILE.name)


async def _responses_loaded(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(ServiceEvent.id).where(ServiceEvent.external_id.startswith(EVENT_PREFIX)).limit(1)
    )
    return found is not None


def _allocate(total: int, sizes: list[float]) -> list[int]:
    """`total` responses over the bodies: a floor each, the rest by size (largest remainder)."""
    floor = min(MIN_PER_AGENCY, total // len(sizes))
    rest = total - floor * len(sizes)
    shares = [rest * size / sum(sizes) for size in sizes]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(sizes)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: rest - sum(counts)]:
        counts[i] += 1
    return [floor + count for count in counts]


async def _synthetic_responses(
    session: AsyncSession,
    survey: SurveyDefinition,
    secret: bytes,
    rules: Rules,
    total: int,
    seed: int,
) -> None:
    """Completed responses spread over the demo year, stored in bulk: events, invitations,
    pseudonymous respondents, responses, answers, complaint requests, and their rollups built
    by the same `rollup_rows` a live completion uses."""
    rng = random.Random(seed)
    agencies = list(await session.scalars(select(Agency).order_by(Agency.id)))
    services: dict[int, list[PublicService]] = {}
    for service in await session.scalars(select(PublicService).order_by(PublicService.id)):
        services.setdefault(service.agency_id, []).append(service)
    offices: dict[int, list[ServicePoint]] = {}
    for point in await session.scalars(select(ServicePoint).order_by(ServicePoint.id)):
        offices.setdefault(point.agency_id, []).append(point)
    quality = {profile.code: profile for profile in profiles(demo_codes())}
    known = [agency for agency in agencies if agency.code in quality and services.get(agency.id)]
    if not known:
        return
    counts = _allocate(total, [quality[agency.code].size for agency in known])
    year = date.fromisoformat(f"{DEMO_PERIOD}-01-01")
    # 08:00 in Kazakhstan on the year's first day; every response within opening hours
    opening = datetime(year.year, 1, 1, 3, 0, tzinfo=UTC)
    days = (date(year.year + 1, 1, 1) - year).days
    channels, weights = zip(*DELIVERY, strict=True)

    planned: list[tuple[Agency, PublicService, ServicePoint | None, DeliveryChannel, datetime]] = []
    for agency, count in zip(known, counts, strict=True):
        for _ in range(count):
            delivery = rng.choices(channels, weights)[0]
            office = rng.choice(offices[agency.id]) if delivery in AT_AN_OFFICE else None
            moment = opening + timedelta(days=rng.randrange(days), minutes=rng.randint(0, 540))
            planned.append((agency, rng.choice(services[agency.id]), office, delivery, moment))

    event_ids = await _insert_returning(
        session,
        ServiceEvent,
        [
            {
                "external_id": f"{EVENT_PREFIX}{number}",
                "service_id": service.id,
                "service_point_id": office.id if office else None,
                "delivery_channel": delivery,
                "delivered_at": moment,
                "created_at": moment,
            }
            for number, (_, service, office, delivery, moment) in enumerate(planned)
        ],
        "external_id",
    )
    finished = [moment + timedelta(minutes=rng.randint(3, 90)) for *_, moment in planned]
    invitation_ids = await _insert_returning(
        session,
        Invitation,
        [
            {
                "service_event_id": event_id,
                "token_hash": token_hash(invitations.fresh_token()),
                "survey_id": survey.id,
                "created_at": moment,
                "expires_at": moment + timedelta(hours=survey.invitation_ttl_hours),
                "used_at": done - timedelta(minutes=2),
            }
            for event_id, (*_, moment), done in zip(event_ids, planned, finished, strict=True)
        ],
        "service_event_id",
    )
    languages = [rng.choice(["kk", "kk", "ru", "ru", "en"]) for _ in planned]
    respondent_ids = await _insert_returning(
        session,
        Respondent,
        [
            {
                "key": respondent_key(secret, "demo", f"{DEMO_PERIOD}-{number}"),
                "language": language,
                "created_at": done,
            }
            for number, (language, done) in enumerate(zip(languages, finished, strict=True))
        ],
        "key",
    )
    responses: list[Response] = []
    for number, (_, service, office, _, _) in enumerate(planned):
        responses.append(
            Response(
                respondent_id=respondent_ids[number],
                survey_id=survey.id,
                survey_version=survey.version,
                channel=rng.choice([Channel.TELEGRAM, Channel.TELEGRAM, Channel.WEB]),
                language=languages[number],
                status=ResponseStatus.COMPLETED,
                invitation_id=invitation_ids[number],
                service_event_id=event_ids[number],
                service_id=service.id,
                service_point_id=office.id if office else None,
                walk_in=False,
                started_at=finished[number] - timedelta(minutes=2),
                updated_at=finished[number],
                completed_at=finished[number],
            )
        )
    response_ids = await _insert_returning(
        session,
        Response,
        [
            {column: getattr(response, column) for column in RESPONSE_COLUMNS}
            for response in responses
        ],
        "service_event_id",
    )
    answer_rows: list[dict[str, object]] = []
    rollups: list[dict[str, object]] = []
    complaints: list[dict[str, object]] = []
    counted: list[list[list[str]]] = []
    for response_id, response, (agency, *_) in zip(response_ids, responses, planned, strict=True):
        answers = _synthetic_answers(survey, quality[agency.code].survey_quality, rng)
        done = response.completed_at
        answer_rows.extend(
            {"response_id": response_id, "question": name, "value": value, "answered_at": done}
            for name, value in answers.items()
        )
        pairs = metric_values(survey, answers)
        counted.append([list(pair) for pair in pairs])
        rollups.extend(rollup_rows(response, agency.id, pairs))
        if complaint_requested(survey, answers):
            complaints.append({"response_id": response_id, "created_at": done})
    for start in range(0, len(answer_rows), BATCH):
        await session.execute(insert(_table(Answer)), answer_rows[start : start + BATCH])
    if complaints:
        await session.execute(insert(_table(ComplaintRequest)), complaints)
    await add_rollup_rows(session, merge_rollup_rows(rollups))
    # What the chain keeper also leaves for a live completion: the anti-gaming rules' signal
    # of each response (so a flag raised later takes out exactly what it added) and its
    # place in the ledger, in the order the responses were completed.
    top = rules.office_top_burst
    await session.execute(
        insert(_table(ResponseSignal)),
        [
            {
                "response_id": response_id,
                "service_point_key": response.service_point_id or 0,
                "top_score": [top.metric, top.top_value] in pairs,
                "completed_at": response.completed_at,
                "counted": pairs,
            }
            for response_id, response, pairs in zip(response_ids, responses, counted, strict=True)
        ],
    )
    in_completion_order = sorted(
        range(len(responses)), key=lambda i: (responses[i].completed_at, response_ids[i])
    )
    await ledger.append_many(session, [response_ids[i] for i in in_completion_order])


RESPONSE_COLUMNS = (
    "respondent_id",
    "survey_id",
    "survey_version",
    "channel",
    "language",
    "status",
    "invitation_id",
    "service_event_id",
    "service_id",
    "service_point_id",
    "walk_in",
    "started_at",
    "updated_at",
    "completed_at",
)
BATCH = 2000


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


async def _insert_returning(
    session: AsyncSession,
    model: type[Base],
    rows: list[dict[str, object]],
    key: str,
) -> list[int]:
    """Insert rows in bulk (one executemany per batch, no ORM units of work), then read the new
    ids back by a unique column `key`, in the rows' order."""
    table = _table(model)
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(table), rows[start : start + BATCH])
    wanted = {row[key] for row in rows}
    found: dict[object, int] = {}
    column = table.c[key]
    values = sorted(wanted, key=str)
    for start in range(0, len(values), BATCH):
        part = values[start : start + BATCH]
        result = await session.execute(select(column, table.c.id).where(column.in_(part)))
        found.update({value: row_id for value, row_id in result.all()})
    return [found[row[key]] for row in rows]


def _synthetic_answers(
    survey: SurveyDefinition, quality: float, rng: random.Random
) -> dict[str, AnswerValue]:
    """Walk the survey like a respondent of this quality would, following its skip logic.

    Defects are rarer than bad ratings: a body of quality 0.6 refuses 6 % unjustly, asks 12 %
    for extra documents, and accepts 84 % of packages at once."""
    bad = 1 - quality
    chance_of_yes = {
        "deadline_met": 1 - 0.3 * bad,
        "unjustified_refusal": 0.15 * bad,
        "extra_documents_demanded": 0.3 * bad,
        "full_package_once": 1 - 0.4 * bad,
    }
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
            if question.action is not None:
                value = rng.random() < 0.3
            else:
                value = rng.random() < chance_of_yes.get(str(question.metric), quality)
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
        await count(IndicatorValue),
        await count(Dataset),
        await count(DatasetRating),
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
