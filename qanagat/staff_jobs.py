"""The worker's jobs for agencies' staff chats: after each closed week (and month, for chats that
want monthly summaries) write the agency's summary owed to each subscribed chat; write the
deadline reminders and overdue flags owed to them; and send what is owed through the bot.

Writing and sending are apart: a summary is rendered once into its `summary_delivery` row (one
per agency, period kind, period start and chat, so a restart finds it and sends nothing twice),
and the sender (bot/telegram/staff_delivery.py) retries it until Telegram takes it."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from admin.summaries import PERIOD_KINDS, PeriodKind, SummaryPeriod, agency_summary
from bot.messages import text as bot_text
from bot.telegram.app import build_bot
from bot.telegram.staff_delivery import send_staff_messages
from core.clock import utcnow
from core.complaints import OPEN_STATUSES
from core.models import (
    Agency,
    Base,
    Complaint,
    StaffAlert,
    StaffChat,
    StaffMessageStatus,
    SummaryDelivery,
)
from core.settings import Settings
from scoring.summary_render import render_summary

log = logging.getLogger("qanagat.worker.staff")
AlertKind = Literal["reminder", "overdue"]


@dataclass(frozen=True)
class PlannedSummary:
    """One summary owed to one chat: written now (`new`), or found written before."""

    agency_code: str
    staff_chat_id: int
    chat_title: str | None
    period: SummaryPeriod
    language: str
    text: str
    new: bool


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def plan_summaries(
    session: AsyncSession,
    now: datetime,
    *,
    agency_code: str | None = None,
    kind: PeriodKind | None = None,
    dry_run: bool = False,
) -> list[PlannedSummary]:
    """Write the summaries of the last closed period owed to subscribed chats; commits.

    On schedule (no agency, no kind) a chat gets the kinds it subscribed for, for periods that
    ended after it subscribed. An administrator naming an agency or a kind sends the last
    closed period to every chat concerned, whatever its choice. A row already written is
    found, not written again. `dry_run` writes nothing and renders what would be sent."""
    on_schedule = agency_code is None and kind is None
    statement = (
        select(StaffChat, Agency)
        .join(Agency, Agency.id == StaffChat.agency_id)
        .order_by(Agency.code, StaffChat.id)
    )
    if agency_code is not None:
        statement = statement.where(Agency.code == agency_code)
    rows = list(await session.execute(statement))
    planned: list[PlannedSummary] = []
    for _, group in groupby(rows, key=lambda row: row[1].id):
        pairs = list(group)
        agency = pairs[0][1]
        chats = [chat for chat, _ in pairs]
        for period_kind in (kind,) if kind is not None else PERIOD_KINDS:
            period = SummaryPeriod.last_closed(period_kind, now)
            wanted = [
                chat
                for chat in chats
                if not on_schedule
                or (getattr(chat, period_kind) and chat.subscribed_at < period.bounds()[1])
            ]
            planned += await _plan_period(session, agency, period, wanted, now, dry_run)
    if not dry_run:
        await session.commit()
    return planned


async def _plan_period(
    session: AsyncSession,
    agency: Agency,
    period: SummaryPeriod,
    chats: list[StaffChat],
    now: datetime,
    dry_run: bool,
) -> list[PlannedSummary]:
    if not chats:
        return []
    written = {
        row.staff_chat_id: row
        for row in await session.scalars(
            select(SummaryDelivery).where(
                SummaryDelivery.agency_id == agency.id,
                SummaryDelivery.period_kind == period.kind,
                SummaryDelivery.period_start == period.start,
                SummaryDelivery.staff_chat_id.in_([chat.id for chat in chats]),
            )
        )
    }
    texts: dict[str, str] = {}
    planned = []
    for chat in chats:
        found = written.get(chat.id)
        if found is not None:
            planned.append(_planned(agency, chat, period, found.text, new=False))
            continue
        lang: Literal["kk", "ru"] = "kk" if chat.language == "kk" else "ru"
        if lang not in texts:
            # One summary per agency, period and language, however many chats read it.
            try:
                summary = await agency_summary(session, agency, period, now, lang=lang)
                texts[lang] = render_summary(summary, lang)
            except Exception:
                # Nothing written for this agency's period: the next pass tries it again, and
                # the other agencies' summaries go out meanwhile.
                log.exception("the %s summary of %s failed", period.kind, agency.code)
                return planned
        if not dry_run:
            await session.execute(
                _insert(session, SummaryDelivery)
                .values(
                    agency_id=agency.id,
                    period_kind=period.kind,
                    period_start=period.start,
                    period_end=period.end,
                    staff_chat_id=chat.id,
                    text=texts[lang],
                    status=StaffMessageStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
        planned.append(_planned(agency, chat, period, texts[lang], new=True))
    return planned


def _planned(
    agency: Agency, chat: StaffChat, period: SummaryPeriod, text: str, *, new: bool
) -> PlannedSummary:
    return PlannedSummary(agency.code, chat.id, chat.title, period, chat.language, text, new)


async def queue_staff_alerts(session: AsyncSession, now: datetime) -> int:
    """Write the deadline alerts owed to staff chats: for each open complaint reminded of or
    flagged overdue (core.complaints.watch_deadlines) after a chat of its agency subscribed,
    one alert per kind and chat. Read from the flags themselves, so an alert is owed even if
    the worker stopped between flagging and writing it. Never names the citizen. Commits."""
    queued = 0
    kinds: tuple[tuple[AlertKind, Any], ...] = (
        ("reminder", Complaint.reminded_at),
        ("overdue", Complaint.overdue_at),
    )
    for kind, flagged_at in kinds:
        rows = await session.execute(
            select(Complaint, StaffChat)
            .join(StaffChat, StaffChat.agency_id == Complaint.agency_id)
            .where(
                flagged_at.is_not(None),
                flagged_at >= StaffChat.subscribed_at,
                Complaint.status.in_(OPEN_STATUSES),
                ~exists().where(
                    StaffAlert.complaint_id == Complaint.id,
                    StaffAlert.kind == kind,
                    StaffAlert.staff_chat_id == StaffChat.id,
                ),
            )
            .options(joinedload(Complaint.service))
            .order_by(Complaint.id, StaffChat.id)
        )
        for complaint, chat in rows:
            deadline = complaint.deadline.strftime("%d.%m.%Y") if complaint.deadline else "—"
            message = bot_text(
                f"staff_alert_{kind}",
                chat.language,
                reference=complaint.reference,
                service=complaint.service.name(chat.language),
                deadline=deadline,
            )
            inserted = await session.execute(
                _insert(session, StaffAlert)
                .values(
                    complaint_id=complaint.id,
                    kind=kind,
                    staff_chat_id=chat.id,
                    text=message,
                    status=StaffMessageStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
            queued += int(getattr(inserted, "rowcount", 0) or 0)
    await session.commit()
    return queued


async def send_owed(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> Counter[str]:
    """Send the due summaries and alerts through the bot (nothing without a token)."""
    if settings.telegram_token is None:
        return Counter()
    bot = build_bot(settings)
    try:
        return await send_staff_messages(session_factory, bot, settings.secret_bytes(), now)
    finally:
        await bot.session.close()


async def run_staff_jobs(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
) -> Counter[str]:
    """One pass of the worker: the summaries of periods just closed and the alerts, written,
    then sent."""
    now = now or utcnow()
    async with session_factory() as session:
        planned = await plan_summaries(session, now)
    async with session_factory() as session:
        alerts = await queue_staff_alerts(session, now)
    written = sum(p.new for p in planned)
    if written or alerts:
        log.info("wrote %d summaries and %d deadline alerts for staff chats", written, alerts)
    outcomes = await send_owed(settings, session_factory, now)
    if outcomes:
        log.info("staff chats: %s", dict(outcomes))
    return outcomes
