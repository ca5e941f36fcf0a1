"""Sending what is owed to agencies' staff chats (core.models.SummaryDelivery and StaffAlert):
each row is claimed in the database before it is sent and settled right after Telegram answers.

- Sent once: only pending rows, and rows whose claim ran out (a sender that died), are claimed,
  by a conditional update; a row committed as sent is never taken again. A message goes twice
  only if the process dies between Telegram accepting it and the commit of `sent`.
- Nothing lost: a 5xx or network error puts the row back with a growing delay, up to
  MAX_ATTEMPTS; a 429 puts it back after Telegram's retry_after and ends the pass.
- A chat that blocked the bot or removed it from the group (403) is unsubscribed; what it was
  owed goes with it.
Plain text (no parse mode): a summary quotes citizens, nothing in it may be taken for markup."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import staff_chats
from core.identity import AddressBox
from core.models import StaffAlert, StaffChat, StaffMessageStatus, SummaryDelivery

log = logging.getLogger(__name__)

StaffMessage = type[SummaryDelivery] | type[StaffAlert]
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
BATCH = 200


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones: 1, 2, 4 … 60 minutes."""
    doubled: timedelta = BACKOFF_FIRST * (1 << min(max(0, attempts - 1), 16))
    return min(doubled, BACKOFF_MAX)


async def send_staff_messages(
    session_factory: async_sessionmaker[AsyncSession],
    bot: Bot,
    secret: bytes,
    now: datetime,
    *,
    pause_s: float = 0.05,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Counter[str]:
    """One pass over the due summaries, then the due alerts; returns how many rows ended how
    (sent, retry, failed, unsubscribed, limited). `pause_s` between two sends keeps the pass
    well under Telegram's rate for one bot."""
    outcomes: Counter[str] = Counter()
    box = AddressBox(secret)
    for model in (SummaryDelivery, StaffAlert):
        async with session_factory() as session:
            due = list(
                await session.scalars(
                    select(model.id)
                    .where(_due(model, now))
                    .order_by(model.next_attempt_at, model.id)
                    .limit(BATCH)
                )
            )
        for row_id in due:
            outcome = await _send_one(session_factory, bot, secret, box, model, row_id, now)
            outcomes[outcome] += 1
            if outcome in ("limited", "unauthorized"):
                return outcomes  # Telegram asks us to wait (or refuses the token): next pass
            if outcome == "sent" and pause_s:
                await sleep(pause_s)
    return outcomes


def _due(model: StaffMessage, now: datetime) -> ColumnElement[bool]:
    return or_(
        (model.status == StaffMessageStatus.PENDING) & (model.next_attempt_at <= now),
        (model.status == StaffMessageStatus.SENDING) & (model.lease_expires_at < now),
    )


async def _send_one(
    session_factory: async_sessionmaker[AsyncSession],
    bot: Bot,
    secret: bytes,
    box: AddressBox,
    model: StaffMessage,
    row_id: int,
    now: datetime,
) -> str:
    async with session_factory() as session:
        claimed = await session.execute(
            update(model)
            .where(model.id == row_id, _due(model, now))
            .values(status=StaffMessageStatus.SENDING, lease_expires_at=now + LEASE)
        )
        await session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return "taken"  # another worker has it, or it was settled meanwhile
        row = cast("SummaryDelivery | StaffAlert | None", await session.get(model, row_id))
        chat = await session.get(StaffChat, row.staff_chat_id) if row is not None else None
        if row is None or chat is None:
            return "gone"  # unsubscribed meanwhile: the cascade took the row
        chat_id = box.open(chat.encrypted_chat_id)
        if chat_id is None:  # sealed under another secret: the chat must subscribe again
            _settle(row, StaffMessageStatus.FAILED, now, "chat address unreadable")
            await session.commit()
            return "failed"
        row.attempts += 1
        try:
            await bot.send_message(int(chat_id), row.text, parse_mode=None)
        except TelegramRetryAfter as error:
            row.attempts -= 1  # not the message's fault
            _settle(row, StaffMessageStatus.PENDING, now + timedelta(seconds=error.retry_after))
            await session.commit()
            return "limited"
        except TelegramForbiddenError as error:
            log.info("staff chat %d refuses the bot (%s): unsubscribed", chat.id, error.message)
            session.expunge(row)  # the chat's removal deletes the row: nothing to update there
            await staff_chats.remove(session, chat.id)
            await session.commit()
            return "unsubscribed"
        except TelegramMigrateToChat as error:
            # The group became a supergroup: the same chat under a new id, sent to next pass.
            chat.encrypted_chat_id = box.seal(str(error.migrate_to_chat_id))
            chat.chat_key = staff_chats.chat_key(secret, error.migrate_to_chat_id)
            row.attempts -= 1
            _settle(row, StaffMessageStatus.PENDING, now)
            chat_pk = chat.id
            try:
                await session.commit()
            except IntegrityError:  # the supergroup subscribed on its own already
                await session.rollback()
                session.expunge(row)
                await staff_chats.remove(session, chat_pk)
                await session.commit()
            return "retry"
        except TelegramUnauthorizedError as error:
            log.error("Telegram refuses the bot token: %s", error.message)
            row.attempts -= 1
            _settle(row, StaffMessageStatus.PENDING, now)
            await session.commit()
            return "unauthorized"
        except TelegramBadRequest as error:
            log.warning("staff message %s %d refused: %s", model.__name__, row.id, error.message)
            _settle(row, StaffMessageStatus.FAILED, now, error.message)
            await session.commit()
            return "failed"
        except (TimeoutError, TelegramAPIError, OSError) as error:
            # 5xx, network: Telegram did not take it; again later, with a growing delay.
            given_up = row.attempts >= MAX_ATTEMPTS
            status = StaffMessageStatus.FAILED if given_up else StaffMessageStatus.PENDING
            _settle(row, status, now + backoff(row.attempts), str(error))
            await session.commit()
            return "failed" if given_up else "retry"
        _settle(row, StaffMessageStatus.SENT, now)
        row.sent_at = now
        await session.commit()
        return "sent"


def _settle(
    row: SummaryDelivery | StaffAlert,
    status: StaffMessageStatus,
    next_attempt_at: datetime,
    error: str | None = None,
) -> None:
    row.status = status
    row.lease_expires_at = None
    row.next_attempt_at = next_attempt_at
    if error is not None:
        row.last_error = error[:300]
