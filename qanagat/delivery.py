"""Invitation delivery composed: the dispatcher, the job queue that wakes it, and where it runs
(inside `qanagat worker`; inside the server in the embedded mode, when there is no Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiogram import Bot
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.dispatcher import DeliveryPolicy, InvitationDispatcher
from bot.telegram.app import build_bot
from core.job_queue import JobQueue
from core.outbox import configure_outbox
from core.settings import Settings
from qanagat.observability import observe_bot

log = logging.getLogger(__name__)


def build_invitation_dispatcher(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], bot: Bot
) -> InvitationDispatcher:
    return InvitationDispatcher(
        bot,
        session_factory,
        secret=settings.secret_bytes(),
        bot_username=settings.telegram_bot_username,
        policy=DeliveryPolicy.from_settings(settings),
    )


def connect_outbox(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], queue: JobQueue
) -> None:
    """Sessions of this process enqueue with the server's key and wake the dispatchers."""
    configure_outbox(session_factory, settings.secret_bytes(), wake=queue.wake_delivery_soon)


def server_delivery_context(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    queue: JobQueue,
    *,
    dispatch: bool,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context: the queue's connection for the server's lifetime and, with
    `dispatch` (embedded mode: a token and no Redis), the dispatcher running beside it."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        await queue.start()
        runner: asyncio.Task[None] | None = None
        bot: Bot | None = None
        if dispatch:
            bot = observe_bot(build_bot(settings))
            dispatcher = build_invitation_dispatcher(settings, session_factory, bot)
            queue.on_delivery_wake(dispatcher.wake)
            runner = asyncio.create_task(dispatcher.run_forever(), name="invitation-delivery")
            log.info("invitation delivery runs in the server (no Redis configured)")
        try:
            yield
        finally:
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            if bot is not None:
                await bot.session.close()
            await queue.stop()

    return context


async def run_worker_delivery(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], *, once: bool
) -> None:
    """The worker's part: deliver continuously, woken by the queue, polling as a fallback.
    With `once`, deliver what is due now and return."""
    if settings.telegram_token is None:
        log.warning("QANAGAT_TELEGRAM_TOKEN is not set: invitations are not delivered")
        if not once:
            await asyncio.Event().wait()
        return
    queue = JobQueue(settings.redis_url)
    bot = observe_bot(build_bot(settings))
    dispatcher = build_invitation_dispatcher(settings, session_factory, bot)
    queue.on_delivery_wake(dispatcher.wake)
    try:
        await queue.start(consume=True)
        if once:
            outcome = await dispatcher.deliver_due()
            log.info("delivery: %s", dict(outcome) or "nothing due")
        else:
            await dispatcher.run_forever()
    finally:
        await queue.stop()
        await bot.session.close()
