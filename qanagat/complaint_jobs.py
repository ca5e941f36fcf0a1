"""The worker's complaint jobs: flag deadlines passed, pick reminders before them, and send the
citizens' pending notices through the bot (when a bot token is set)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.app import build_bot
from bot.telegram.complaint_notices import deliver_notices
from core.clock import utcnow
from core.complaints import DeadlineWatch, watch_deadlines
from core.identity import AddressBox
from core.settings import Settings
from qanagat.staff_jobs import queue_staff_alerts

log = logging.getLogger("qanagat.worker.complaints")


def alert_staff(watch: DeadlineWatch) -> None:
    """Reminders and overdue flags in the worker's log (the admin's complaint list shows them
    too); the agencies' subscribed staff chats get them from `queue_staff_alerts`, which reads
    the flags themselves."""
    for complaint in watch.reminders:
        log.warning(
            "complaint %s (agency %s) is due on %s",
            complaint.reference,
            complaint.agency_id,
            complaint.deadline,
        )
    for complaint in watch.overdue:
        log.warning(
            "complaint %s (agency %s) passed its deadline %s unanswered",
            complaint.reference,
            complaint.agency_id,
            complaint.deadline,
        )


async def run_complaint_jobs(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        watch = await watch_deadlines(session)
        await session.commit()
    alert_staff(watch)
    try:
        async with session_factory() as session:
            await queue_staff_alerts(session, utcnow())
    except Exception:
        # The flags stay set: the next pass writes the alerts; the citizens' notices go now.
        log.exception("writing staff chat alerts failed; retried at the next pass")
    if settings.telegram_token is None:
        return
    bot = build_bot(settings)
    try:
        async with session_factory() as session:
            sent = await deliver_notices(session, bot, AddressBox(settings.secret_bytes()))
        log.info("sent %d complaint notices", sent)
    finally:
        await bot.session.close()
