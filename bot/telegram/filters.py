"""The routers' filters, as coroutines. aiogram runs a plain function or a magic filter (`F...`)
in a worker thread, one hand-off per filter per update; every update passes several routers'
filters, so on the hot path they are written as async `Filter` classes instead."""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message


class ButtonPrefix(Filter):
    """A button of one of these `CallbackData` factories, by prefix alone: one cheap look, so
    buttons of other routers pass at once instead of failing each factory's filter in turn."""

    def __init__(self, *factories: type[CallbackData]) -> None:
        self.prefixes = tuple(f"{f.__prefix__}{f.__separator__}" for f in factories)

    async def __call__(self, query: CallbackQuery) -> bool:
        return query.data is not None and query.data.startswith(self.prefixes)


class PrivateChat(Filter):
    """Citizens talk to the bot in private."""

    async def __call__(self, message: Message) -> bool:
        return message.chat.type == ChatType.PRIVATE


class TypedText(Filter):
    """Text the person typed, not a command."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class CommandLike(Filter):
    """Text that looks like a command (known commands are matched before this)."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.startswith("/")
