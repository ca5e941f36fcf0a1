"""Chat references: a citizen sends /link to the bot and gets a short code to give a service
centre or eGov once; events carrying that code (`telegram_ref`) are invited in Telegram.

Only an HMAC of the code is stored, bound to the respondent (a pseudonym): neither the code nor
a chat id can be read back from the database. A new /link revokes the citizen's older codes;
/stop deletes the respondent and with it every code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.models import ChatLink

# Crockford's base32 without I, L, O, U: nothing to misread when dictated at a counter.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 40 bits; guessing online is bounded by API keys, offline by the HMAC key
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalise(code: str) -> str:
    """What a person typed (`q7kd-3m9x`, spaces, a misread O) as the stored form."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return cleaned.translate(_READS_AS)


def code_hash(secret: bytes, code: str) -> bytes:
    key = hmac.new(secret, b"qanagat/chat-link", hashlib.sha256).digest()
    return hmac.new(key, normalise(code).encode("ascii", "replace"), hashlib.sha256).digest()


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


async def new_code(session: AsyncSession, secret: bytes, respondent_id: int) -> str:
    """A fresh code for this respondent (older ones stop working). Does not commit: the
    caller commits before it shows the code."""
    now = utcnow()
    await session.execute(
        update(ChatLink)
        .where(ChatLink.respondent_id == respondent_id, ChatLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        ChatLink(code_hash=code_hash(secret, code), respondent_id=respondent_id, created_at=now)
    )
    return display(code)


async def resolve(session: AsyncSession, secret: bytes, codes: Iterable[str]) -> dict[str, int]:
    """Respondent ids of the codes that are known and not revoked, keyed by the code as given."""
    by_hash = {code_hash(secret, code): code for code in set(codes) if code}
    if not by_hash:
        return {}
    rows = await session.execute(
        select(ChatLink.code_hash, ChatLink.respondent_id).where(
            ChatLink.code_hash.in_(list(by_hash)), ChatLink.revoked_at.is_(None)
        )
    )
    return {by_hash[digest]: respondent_id for digest, respondent_id in rows}
