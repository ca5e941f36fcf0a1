"""The invitation dispatcher: sends the outbox's messages through Telegram, at a pace Telegram
accepts, and settles each row in the database right after Telegram answers.

What can and cannot happen (docs/operations.md, "Invitation delivery", says it for operators):

- A row committed as sent is never sent again: claims only take pending rows and rows whose
  lease ran out, and settling statements name the claim they hold.
- A row is never lost: it stays in the outbox until it is sent, blocked or given up; a
  dispatcher that dies leaves its rows claimed, and they become due again when the lease ends.
- A message can go twice only if the process dies (or the database is unreachable for longer
  than the settling retries) between Telegram accepting it and the commit of `sent`, a window
  of one database round trip per message. Telegram has no idempotency key to close it.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.pacing import ChatSpacing, Pacer
from bot.messages import text
from core import funnel, outbox
from core.clock import utcnow
from core.identity import AddressBox
from core.metrics import INVITATIONS_SENT
from core.outbox import ClaimedDelivery
from core.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


async def funnel_delivered(session: AsyncSession, service_event_id: int) -> None:
    """The funnel's "delivered" step for the service event whose invitation just went out, in
    the transaction that marks the message sent."""
    await funnel.count_event(session, funnel.FunnelStep.DELIVERED, service_event_id)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the dispatcher paces, retries and holds rows."""

    rate_per_s: float = 25.0
    per_chat_interval_s: float = 1.0
    max_attempts: int = 8
    lease_s: float = 60.0
    poll_s: float = 5.0
    backoff_base_s: float = 2.0
    backoff_max_s: float = 900.0
    send_timeout_s: float = 10.0
    rate_slack: float = 0.02
    max_in_flight: int = 20
    unauthorized_pause_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            rate_per_s=settings.delivery_rate_per_s,
            per_chat_interval_s=settings.delivery_per_chat_interval_s,
            max_attempts=settings.delivery_max_attempts,
            lease_s=settings.delivery_lease_s,
            poll_s=settings.delivery_poll_s,
        )

    @property
    def batch_size(self) -> int:
        """About three seconds of sending per claim: well inside the lease, few claims, and
        each one short enough not to hold the event loop (and make sends late) for long."""
        return max(10, min(500, int(self.rate_per_s * 3)))

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1` after a transient failure (doubling)."""
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempts - 1)))


def invitation_message(
    delivery: ClaimedDelivery, token: str, bot_username: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The invitation in the citizen's language, with a button that opens the survey: a t.me
    deep link whose payload is the token, handled by /start."""
    lang = delivery.language
    service = html.escape(delivery.service_name)
    if delivery.office_name:
        body = text(
            "invitation_message", lang, service=service, office=html.escape(delivery.office_name)
        )
    else:
        body = text("invitation_message_online", lang, service=service)
    link = f"https://t.me/{bot_username}?start={token}"
    button = InlineKeyboardButton(text=text("invitation_button", lang), url=link)
    return body, InlineKeyboardMarkup(inline_keyboard=[[button]])


class InvitationDispatcher:
    """Claims due outbox rows in batches, sends them within the pace, settles each one."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        secret: bytes,
        bot_username: str,
        policy: DeliveryPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.policy = policy or DeliveryPolicy()
        self.clock = clock
        self.bot_username = bot_username
        self.stats: Counter[str] = Counter()
        self._tokens = outbox.token_box(secret)
        self._addresses = AddressBox(secret)
        self._pacer = Pacer(self.policy.rate_per_s, self.policy.rate_slack)
        self._chats = ChatSpacing(self.policy.per_chat_interval_s)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.policy.max_in_flight)  # sends waiting or in flight
        self._pace_lock = asyncio.Lock()
        self._stopping = False
        self._held: dict[int, str] = {}  # claimed, not yet handed to a send
        self._introduced = False

    def wake(self) -> None:
        """Something was enqueued: stop sleeping (safe to call from any callback on the loop)."""
        self._wake.set()

    async def run_forever(self) -> None:
        """Deliver, then sleep until woken, until the next row is due, or `poll_s` at most."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
                timeout = await self._sleep_time()
            except (SQLAlchemyError, OSError) as error:
                log.warning("delivery paused: %s: %s", type(error).__name__, error)
                timeout = self.policy.poll_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _sleep_time(self) -> float:
        async with self.session_factory() as session:
            due = await outbox.next_due_at(session)
        timeout = self.policy.poll_s
        if due is not None:
            timeout = min(timeout, max(0.01, (due - self.clock()).total_seconds()))
        return max(timeout, self._pacer.paused_for)

    async def deliver_due(self) -> Counter[str]:
        """Send everything due now; return what happened. On cancellation (a clean stop), sends
        in flight get `send_timeout_s` to finish and be recorded, and rows claimed but not yet
        sent are given back, so a restart finds nothing waiting for a lease."""
        before = self.stats.copy()
        try:
            await self._introduce()
            while batch := await self._claim():
                await self._send_batch(batch)
            await self._drain()
        except asyncio.CancelledError:
            await asyncio.shield(self._stop())
            raise
        except Exception:
            await self._drain()  # let sends already made be recorded
            await self._release_held()
            raise
        return self.stats - before

    async def _introduce(self) -> None:
        """getMe once before the first send: it opens the connection (a first send slowed by
        the TCP handshake arrives bunched with the next ones and can trip the flood limit), and
        it checks that the deep links name this bot."""
        if self._introduced:
            return
        self._introduced = True
        try:
            me = await self.bot.get_me(request_timeout=max(1, int(self.policy.send_timeout_s)))
        except TelegramAPIError as error:
            log.warning("getMe failed: %s", error.message)
            return
        if me.username and me.username.lower() != self.bot_username.lower():
            log.error(
                "QANAGAT_TELEGRAM_BOT_USERNAME is %s but the token belongs to @%s: invitation "
                "links would open another bot",
                self.bot_username,
                me.username,
            )

    async def _claim(self) -> list[ClaimedDelivery]:
        async with self.session_factory() as session:
            batch = await outbox.claim_due(
                session,
                now=self.clock(),
                limit=self.policy.batch_size,
                lease=timedelta(seconds=self.policy.lease_s),
                claim=outbox.new_claim(),
            )
            await session.commit()
        for delivery in batch:
            self._held[delivery.id] = delivery.claim
        return batch

    async def _send_batch(self, batch: list[ClaimedDelivery]) -> None:
        margin = timedelta(seconds=min(self.policy.send_timeout_s + 2.0, self.policy.lease_s / 2))
        for index, delivery in enumerate(batch):
            if delivery.lease_expires_at - self.clock() < margin:
                # Waiting (a long 429) ate the lease: give the rest back rather than risk
                # sending a row another dispatcher may claim meanwhile.
                await self._release_held([d.id for d in batch[index:]])
                return
            prepared = await self._prepare(delivery)
            if prepared is None:
                continue
            chat_id, token = prepared
            if (wait := self._chats.wait_for(chat_id)) > 0:
                self.stats["deferred_per_chat"] += 1
                await self._settle(
                    delivery,
                    outbox.retry_later,
                    at=self.clock() + timedelta(seconds=wait),
                    error="per-chat limit",
                    counts=False,
                )
                continue
            await self._slots.acquire()
            self._chats.record(chat_id)
            self._held.pop(delivery.id, None)
            task = asyncio.create_task(self._send(delivery, chat_id, token))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _prepare(self, delivery: ClaimedDelivery) -> tuple[int, str] | None:
        """The chat and the token, or None when the row was settled because there is nothing
        to send (no address any more, invitation used or expired, unreadable token)."""
        token = (
            None
            if delivery.encrypted_token is None
            else self._tokens.open(delivery.encrypted_token)
        )
        address = (
            None
            if delivery.encrypted_address is None
            else self._addresses.open(delivery.encrypted_address)
        )
        reason = None
        if token is None:
            reason = "token missing or unreadable (was QANAGAT_SECRET_KEY changed?)"
        elif address is None or not address.lstrip("-").isdigit():
            reason = "no chat address for the respondent"
        elif delivery.invitation_used:
            reason = "invitation already answered"
        elif delivery.invitation_expires_at <= self.clock():
            reason = "invitation expired before it could be sent"
        if reason is not None or token is None or address is None:
            self.stats["given_up"] += 1
            await self._settle(delivery, outbox.give_up, error=reason or "", attempted=False)
            return None
        return int(address), token

    async def _send(self, delivery: ClaimedDelivery, chat_id: int, token: str) -> None:
        try:
            body, keyboard = invitation_message(delivery, token, self.bot_username)
            # The slot is taken here, in the task that sends, with nothing that yields between
            # it and the request: the pace Telegram sees is the pace of the slots. The lock
            # hands slots out in batch order.
            async with self._pace_lock:
                if not self._stopping:
                    await self._pacer.slot()
            if self._stopping:
                await self._settle(delivery, outbox.release)
                return
            try:
                message = await self.bot.send_message(
                    chat_id,
                    body,
                    reply_markup=keyboard,
                    request_timeout=max(
                        1, int(min(self.policy.send_timeout_s, self.policy.lease_s / 3))
                    ),
                )
            except TelegramRetryAfter as error:
                self.stats["rate_limited"] += 1
                self._pacer.refused(error.retry_after)
                await self._settle(
                    delivery,
                    outbox.retry_later,
                    at=self.clock() + timedelta(seconds=error.retry_after),
                    error=f"429: retry after {error.retry_after} s",
                    counts=False,
                )
            except TelegramForbiddenError as error:
                self.stats["blocked"] += 1
                await self._settle(
                    delivery,
                    outbox.mark_blocked,
                    respondent_id=delivery.respondent_id,
                    error=f"403: {error.message}",
                )
            except TelegramUnauthorizedError as error:
                # The bot token is wrong or revoked: not the message's fault, stop everything.
                log.error("Telegram refuses the bot token: %s", error.message)
                self._pacer.pause(self.policy.unauthorized_pause_s)
                await self._settle(
                    delivery,
                    outbox.retry_later,
                    at=self.clock() + timedelta(seconds=self.policy.unauthorized_pause_s),
                    error=f"401: {error.message}",
                    counts=False,
                )
            except (TelegramBadRequest, TelegramMigrateToChat) as error:
                self.stats["given_up"] += 1
                await self._settle(delivery, outbox.give_up, error=f"400: {error.message}")
            except (TelegramServerError, TelegramNetworkError, TelegramAPIError) as error:
                await self._retry_or_give_up(delivery, f"{type(error).__name__}: {error.message}")
            except Exception as error:  # an answer aiogram could not read, a bug: retry it
                log.exception("delivery %d: unexpected error", delivery.id)
                await self._retry_or_give_up(delivery, f"{type(error).__name__}: {error}")
            else:
                self.stats["sent"] += 1
                INVITATIONS_SENT.inc()
                await self._settle(
                    delivery,
                    outbox.mark_sent,
                    message_id=message.message_id,
                    now=self.clock(),
                    then=funnel_delivered,
                )
        finally:
            self._slots.release()

    async def _retry_or_give_up(self, delivery: ClaimedDelivery, error: str) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.policy.max_attempts:
            self.stats["given_up"] += 1
            await self._settle(
                delivery, outbox.give_up, error=f"after {attempts} attempts: {error}"
            )
            return
        self.stats["retried"] += 1
        delay = self.policy.backoff(attempts)
        await self._settle(
            delivery,
            outbox.retry_later,
            at=self.clock() + timedelta(seconds=delay),
            error=error,
        )

    async def _settle(
        self,
        delivery: ClaimedDelivery,
        change: Callable[..., Awaitable[bool]],
        *,
        then: Callable[[AsyncSession, int], Awaitable[None]] | None = None,
        **values: object,
    ) -> None:
        """Apply `change` to the row in a commit of its own, retrying a few times if the
        database hiccups: each failed commit after a send widens the window for a duplicate."""
        self._held.pop(delivery.id, None)
        for attempt in range(4):
            try:
                async with self.session_factory() as session:
                    held = await change(session, delivery.id, delivery.claim, **values)
                    if held and then is not None:
                        await then(session, delivery.service_event_id)
                    await session.commit()
            except (SQLAlchemyError, OSError) as error:
                if attempt == 3:
                    log.error("could not record delivery %d: %s", delivery.id, error)
                    return
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if not held:
                log.warning(
                    "delivery %d: lease lost before it was settled (another dispatcher took it)",
                    delivery.id,
                )
            return

    async def _drain(self) -> None:
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def _stop(self) -> None:
        self._stopping = True  # sends still waiting for a slot give their rows back
        tasks = list(self._in_flight)
        if tasks:
            # Cutting a send off is what could make Telegram deliver a message we then send
            # again: let it finish and be recorded.
            _done, late = await asyncio.wait(tasks, timeout=self.policy.send_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._release_held()
        self._stopping = False

    async def _release_held(self, ids: list[int] | None = None) -> None:
        chosen = list(self._held) if ids is None else [i for i in ids if i in self._held]
        if not chosen:
            return
        async with self.session_factory() as session:
            for delivery_id in chosen:
                await outbox.release(session, delivery_id, self._held.pop(delivery_id))
            await session.commit()
