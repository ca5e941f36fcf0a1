"""Citizens whose chats are known, their invitations queued in the outbox, and a dispatcher
pointed at the fake Bot API: shared by the delivery tests and the dispatch benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.dispatcher import DeliveryPolicy, InvitationDispatcher
from core import invitations
from core.clock import utcnow
from core.identity import AddressBox
from core.models import (
    Agency,
    AgencyKind,
    Channel,
    ChatAddress,
    DeliveryChannel,
    InvitationDelivery,
    PublicService,
    Respondent,
    ServiceEvent,
    ServicePoint,
)
from core.outbox import enqueue_invitation

SECRET = b"delivery-test-secret-0123456789-abcdefghijklmnop"
TOKEN = "100000:DELIVERY-TEST"
BOT_USERNAME = "QanagatTestBot"
CHAT_BASE = 880_000_000


async def seed_service(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """An akimat with one service and one office; their ids."""
    async with session_factory() as session:
        agency = Agency(
            code="AST",
            kind=AgencyKind.LOCAL,
            name_kk="Астана қаласының әкімдігі",
            name_ru="Акимат города Астаны",
            name_en="Akimat of Astana",
        )
        session.add(agency)
        await session.flush()
        service = PublicService(
            code="AST-S1",
            agency_id=agency.id,
            name_kk="Тұрғылықты жері бойынша тіркеу",
            name_ru="Регистрация по месту жительства",
            name_en="Registration of residence",
        )
        office = ServicePoint(
            code="AST-01",
            agency_id=agency.id,
            name_kk="№3 ХҚКО",
            name_ru="ЦОН №3",
            name_en="Service centre No 3",
        )
        session.add_all([service, office])
        await session.commit()
        return service.id, office.id


@dataclass(frozen=True)
class Queued:
    invitation_id: int
    respondent_id: int
    chat_id: int
    token: str


async def queue_invitations(
    session_factory: async_sessionmaker[AsyncSession],
    service_id: int,
    office_id: int | None,
    count: int,
    *,
    first_chat: int = CHAT_BASE,
    language: str | None = "kk",
    same_chat: bool = False,
    ttl_hours: int = 72,
) -> list[Queued]:
    """`count` delivered services, each with an invitation queued for a citizen whose chat is
    known (one citizen for all with `same_chat`)."""
    box = AddressBox(SECRET)
    queued: list[Queued] = []
    async with session_factory() as session:
        respondent: Respondent | None = None
        for index in range(count):
            chat_id = first_chat if same_chat else first_chat + index
            if respondent is None or not same_chat:
                respondent = Respondent(key=uuid.uuid4().hex, language=language)
                session.add(respondent)
                await session.flush()
                session.add(
                    ChatAddress(
                        respondent_id=respondent.id,
                        channel=Channel.TELEGRAM,
                        encrypted_address=box.seal(str(chat_id)),
                    )
                )
            event = ServiceEvent(
                external_id=f"ev-{uuid.uuid4().hex}",
                service_id=service_id,
                service_point_id=office_id,
                delivery_channel=DeliveryChannel.SERVICE_CENTRE,
                delivered_at=utcnow(),
            )
            session.add(event)
            await session.flush()
            issued = await invitations.issue(session, event, "post_service", ttl_hours)
            await enqueue_invitation(
                session,
                invitation_id=issued.invitation.id,
                respondent_id=respondent.id,
                token=issued.token,
            )
            queued.append(Queued(issued.invitation.id, respondent.id, chat_id, issued.token))
        await session.commit()
    return queued


def fake_bot(api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def dispatcher(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime] = utcnow,
    **policy: float,
) -> InvitationDispatcher:
    defaults: dict[str, float] = {"backoff_base_s": 0.05, "backoff_max_s": 0.5, "poll_s": 0.2}
    return InvitationDispatcher(
        bot,
        session_factory,
        secret=SECRET,
        bot_username=BOT_USERNAME,
        policy=DeliveryPolicy(**(defaults | policy)),  # type: ignore[arg-type]
        clock=clock,
    )


async def outbox_rows(
    session_factory: async_sessionmaker[AsyncSession],
) -> list[InvitationDelivery]:
    async with session_factory() as session:
        return list(
            (
                await session.scalars(select(InvitationDelivery).order_by(InvitationDelivery.id))
            ).all()
        )


class ShiftedClock:
    """Real time plus an offset a test moves forward (to let leases run out at once)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset
