"""Telling citizens what became of their complaint: the worker sends each pending notice
(core.models.ComplaintNotice) through the bot, in the citizen's language, with the reference
number; an answer comes with its text and a 1-5 rating keyboard. The one place that sends them,
so it can be folded into a general outbox later."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.messages import text
from bot.telegram.keyboards import Position, RowId
from core.clock import utcnow
from core.identity import AddressBox
from core.models import ChatAddress, Complaint, ComplaintNotice, ComplaintStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class AnswerRating(CallbackData, prefix="cr"):
    c: RowId  # complaint id
    v: Position  # 1..5


def rating_keyboard(complaint_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for value in range(5, 0, -1):
        builder.button(text="★" * value, callback_data=AnswerRating(c=complaint_id, v=value))
    builder.adjust(1)
    return builder.as_markup()


def notice_text(complaint: Complaint, status: ComplaintStatus, lang: str) -> str:
    status_word = text(f"complaint_status_{status.value}", lang)
    lines = [
        escape(text("complaint_where", lang, reference=complaint.reference, status=status_word))
    ]
    if status is ComplaintStatus.ANSWERED and complaint.answer_text:
        lines.append(f"<b>{escape(text('complaint_answer_heading', lang))}</b>")
        lines.append(escape(complaint.answer_text))
        lines.append(escape(text("complaint_rate_answer", lang)))
    return "\n\n".join(lines)


async def deliver_notices(
    session: AsyncSession, bot: Bot, box: AddressBox, limit: int = 200
) -> int:
    """Send pending notices, oldest first; returns how many were sent. A citizen without a chat
    address any more (/stop, retention) or who blocked the bot is not retried."""
    pending = list(
        await session.scalars(
            select(ComplaintNotice)
            .where(ComplaintNotice.sent_at.is_(None), ComplaintNotice.dropped.is_(None))
            .order_by(ComplaintNotice.id)
            .limit(limit)
            .options(joinedload(ComplaintNotice.complaint))
        )
    )
    sent = 0
    for notice in pending:
        complaint = notice.complaint
        address = None
        if complaint.respondent_id is not None:
            address = await session.scalar(
                select(ChatAddress).where(ChatAddress.respondent_id == complaint.respondent_id)
            )
        chat_id = box.open(address.encrypted_address) if address is not None else None
        if chat_id is None:
            notice.dropped = "no_address"
            continue
        keyboard = (
            rating_keyboard(complaint.id)
            if notice.status is ComplaintStatus.ANSWERED and complaint.answer_rating is None
            else None
        )
        notice.attempts += 1
        try:
            await bot.send_message(
                int(chat_id),
                notice_text(complaint, notice.status, complaint.language),
                reply_markup=keyboard,
            )
        except TelegramRetryAfter:
            break  # Telegram asks us to slow down: the rest waits for the next pass
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            log.info("complaint notice %s not deliverable: %s", notice.id, error)
            notice.dropped = "refused"
            continue
        except Exception:
            log.warning("complaint notice %s failed", notice.id, exc_info=True)
            if notice.attempts >= MAX_ATTEMPTS:
                notice.dropped = "failed"
            continue
        notice.sent_at = utcnow()
        sent += 1
    await session.commit()
    return sent
