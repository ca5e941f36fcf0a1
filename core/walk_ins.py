"""Walk-ins: a citizen scans the poster in an office and rates the service they just received.

The poster's code rotates: `<office>-<YYYYMMDD>-<mac>`, the mac an HMAC of office and day with
a key derived from the server secret. It opens a survey on its day and `grace_days` after, so
a photo of an old poster stops working, and nobody can make one for another day or office.
In Telegram the code rides in a deep link (`start=o-<code>`: at most 64 characters of
[A-Za-z0-9_-]); on the web in `/o/<code>`.

Walk-ins have no service event behind them, so each respondent may start `limit_per_day` of
them per office per day, counted in `walk_in_pass` under a keyed hash that outlives /stop.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.invitations import OFFICE_PREFIX
from core.models import WalkInPass

TELEGRAM_PAYLOAD_LIMIT = 64
MAC_LENGTH = 16  # hex digits: 64 bits, checked online only (each guess is a request)
_CODE = re.compile(r"(?P<office>[A-Za-z0-9_-]{1,64})-(?P<day>\d{8})-(?P<mac>[0-9a-f]{16})")
_OFFICE = re.compile(r"[A-Za-z0-9_-]+")
OFFER_SEAL_LENGTH = 12  # hex digits in a button's callback data (64 bytes in all)
MAX_OFFICE_CODE = TELEGRAM_PAYLOAD_LIMIT - len(OFFICE_PREFIX) - len("-YYYYMMDD-") - MAC_LENGTH


class PosterCodeError(ValueError):
    """An office whose code cannot go on a poster (too long, or characters a deep link refuses)."""


def _key(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"qanagat/{purpose}".encode(), hashlib.sha256).digest()


class OfficeCodes:
    """Signs and reads the dated codes on office posters."""

    def __init__(self, secret: bytes, grace_days: int = 1) -> None:
        self._key = _key(secret, "office-poster")
        self.grace_days = grace_days

    def _mac(self, office_code: str, day: str) -> str:
        message = f"{office_code}|{day}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:MAC_LENGTH]

    def code(self, office_code: str, day: date) -> str:
        """The code printed on `office_code`'s poster for `day`."""
        if not _OFFICE.fullmatch(office_code) or len(office_code) > MAX_OFFICE_CODE:
            raise PosterCodeError(
                f"office code {office_code!r} cannot go on a poster: a Telegram link allows at "
                f"most {MAX_OFFICE_CODE} letters, digits, '-' or '_' for it"
            )
        stamp = day.strftime("%Y%m%d")
        return f"{office_code}-{stamp}-{self._mac(office_code, stamp)}"

    def payload(self, office_code: str, day: date) -> str:
        """The Telegram deep-link payload (`start=`)."""
        return OFFICE_PREFIX + self.code(office_code, day)

    def read(self, code: str, today: date | None = None) -> str | None:
        """The office a code opens today, or None: unsigned (an old poster), forged, for another
        day than today or the grace days before it."""
        read = self.read_dated(code, today)
        return read[0] if read is not None else None

    def read_dated(self, code: str, today: date | None = None) -> tuple[str, str] | None:
        """As `read`, with the code's day (YYYYMMDD): the choice it opens lives as long."""
        found = _CODE.fullmatch(code) if len(code) <= TELEGRAM_PAYLOAD_LIMIT else None
        if found is None:
            return None
        office_code, stamp = found["office"], found["day"]
        expected = self._mac(office_code, stamp).encode()
        if not hmac.compare_digest(expected, found["mac"].encode()):
            return None
        try:
            day = datetime.strptime(stamp, "%Y%m%d").date()
        except ValueError:
            return None
        return (office_code, stamp) if self.valid_on(day, today) else None

    def valid_on(self, day: date, today: date | None = None) -> bool:
        age = ((today or reporting_day(utcnow())) - day).days
        return 0 <= age <= self.grace_days

    def offer_seal(self, office_id: int, service_id: int, stamp: str) -> str:
        """The seal of a service offered at an office after its code of day `stamp` was read:
        a button carrying it was offered by this server, for that office and service."""
        message = f"offer|{office_id}|{service_id}|{stamp}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:OFFER_SEAL_LENGTH]

    def offer_open(
        self, office_id: int, service_id: int, stamp: str, seal: str, today: date | None = None
    ) -> bool:
        """The offer is this server's (its seal matches) and its code's day is still open."""
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) == 8):
            return False
        expected = self.offer_seal(office_id, service_id, stamp)
        if not hmac.compare_digest(expected.encode(), seal.encode("utf-8", "replace")):
            return False
        try:
            day = datetime.strptime(stamp, "%Y%m%d").date()
        except ValueError:
            return False
        return self.valid_on(day, today)


@dataclass(frozen=True)
class WalkIns:
    """The walk-in policy: which poster codes open an office, how many walk-ins a day."""

    codes: OfficeCodes
    secret: bytes
    limit_per_day: int = 1

    @classmethod
    def from_secret(cls, secret: bytes, grace_days: int = 1, limit_per_day: int = 1) -> WalkIns:
        return cls(OfficeCodes(secret, grace_days), secret, limit_per_day)

    def _pass(self, respondent_key: str, office_id: int) -> tuple[str, bytes]:
        day = reporting_day(utcnow()).isoformat()
        digest = hmac.new(
            _key(self.secret, "walk-in-pass"),
            f"{respondent_key}|{office_id}|{day}".encode(),
            hashlib.sha256,
        ).digest()
        return day, digest

    async def used_up(self, session: AsyncSession, respondent_key: str, office_id: int) -> bool:
        """Whether this respondent has used today's walk-ins at this office (reads only), so
        the office page can say so before a service is picked."""
        _day, digest = self._pass(respondent_key, office_id)
        count = await session.scalar(select(WalkInPass.count).where(WalkInPass.digest == digest))
        return int(count or 0) >= self.limit_per_day

    async def admit(self, session: AsyncSession, respondent_key: str, office_id: int) -> bool:
        """Count one more walk-in of this respondent at this office today; False past the
        limit. Race-safe: one upsert returning the new count. Commits nothing."""
        day, digest = self._pass(respondent_key, office_id)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(WalkInPass).values(digest=digest, day=day, count=1)
        count = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=["digest"], set_={"count": WalkInPass.count + 1}
            ).returning(WalkInPass.count)
        )
        return int(count or 0) <= self.limit_per_day
