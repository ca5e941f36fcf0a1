"""Admin users: who may sign in, with which role, and their passwords (argon2id).

Used by the `qanagat users` command and by the admin web; knows nothing of HTTP."""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.models import AdminRole, AdminUser, Agency

# argon2-cffi's defaults are RFC 9106's low-memory profile of argon2id (t=3, m=64 MiB, p=4).
HASHER = PasswordHasher()
# Checked when the e-mail is unknown, so that answer costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("an unknown e-mail still costs one argon2 verification")

LANGUAGES = ("kk", "ru", "en")
MAX_PASSWORD_LENGTH = 256


class AccountError(ValueError):
    """A request about users that cannot be done; `key` names the message that explains it."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class PasswordProblem(enum.StrEnum):
    TOO_SHORT = "password_too_short"
    TOO_LONG = "password_too_long"
    SAME_AS_EMAIL = "password_is_email"
    TOO_SIMPLE = "password_too_simple"
    TOO_COMMON = "password_too_common"


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def looks_like_email(email: str) -> bool:
    local, at, domain = normalise_email(email).partition("@")
    return bool(local and at and "." in domain and " " not in email.strip()) and len(email) <= 254


def password_problem(password: str, email: str, min_length: int) -> PasswordProblem | None:
    """Why a new password is refused, or None. Length is the rule that matters (NIST 800-63B);
    composition rules only make people write passwords down."""
    if len(password) < min_length:
        return PasswordProblem.TOO_SHORT
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordProblem.TOO_LONG
    if normalise_email(password) == normalise_email(email):
        return PasswordProblem.SAME_AS_EMAIL
    if too_simple(password):
        return PasswordProblem.TOO_SIMPLE
    if is_common_password(password):
        return PasswordProblem.TOO_COMMON
    return None


def too_simple(password: str) -> bool:
    """Blank-ish or repetitive: fewer than four different characters once spaces are set
    aside ("            ", "aaaaaaaaaaaa", "ab ab ab ab ab"), or one short piece over and over
    ("abcdabcdabcd")."""
    letters = "".join(password.split())
    if len(set(letters.casefold())) < 4:
        return True
    for size in range(1, 7):
        if len(letters) >= 2 * size and letters == (letters[:size] * len(letters))[: len(letters)]:
            return True
    return False


def is_common_password(password: str) -> bool:
    """One of the 30,000 most common passwords (ASVS 2.1.7), whatever its case, also with
    digits or symbols tacked on at the end ("Password2024!")."""
    folded = password.casefold()
    core = folded.rstrip("0123456789!@#$%^&*()-_=+.,?~ ")
    return folded in _common_passwords() or (len(core) >= 6 and core in _common_passwords())


@functools.cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the list it was built on (the most common of leaked passwords, by rank).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(HASHER.hash, password)


async def password_matches(stored_hash: str | None, password: str) -> bool:
    """Constant-ish time: an unknown user (None) is checked against a dummy hash."""

    def check() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@dataclass(frozen=True)
class NewUser:
    email: str
    role: AdminRole
    agency_code: str | None = None
    language: str = "ru"


async def add_user(
    session: AsyncSession,
    new: NewUser,
    password: str,
    min_length: int,
    now: Callable[[], datetime] = utcnow,
) -> AdminUser:
    """Create a user (not committed). Agency users need an agency, the others must not have one."""
    email = normalise_email(new.email)
    if not looks_like_email(email):
        raise AccountError("email_invalid")
    if new.language not in LANGUAGES:
        raise AccountError("language_unknown")
    problem = password_problem(password, email, min_length)
    if problem is not None:
        raise AccountError(problem.value, min=min_length)
    agency_id = await _agency_for(session, new.role, new.agency_code)
    if await find_user(session, email) is not None:
        raise AccountError("email_taken")
    user = AdminUser(
        email=email,
        password_hash=await hash_password(password),
        role=new.role,
        agency_id=agency_id,
        language=new.language,
        created_at=now(),
        password_changed_at=now(),
    )
    session.add(user)
    await session.flush()
    return user


async def find_user(session: AsyncSession, email: str) -> AdminUser | None:
    user: AdminUser | None = await session.scalar(
        select(AdminUser).where(AdminUser.email == normalise_email(email))
    )
    return user


async def list_users(session: AsyncSession) -> list[tuple[AdminUser, str | None]]:
    """Every user with its agency's code, by e-mail."""
    rows = await session.execute(
        select(AdminUser, Agency.code)
        .outerjoin(Agency, Agency.id == AdminUser.agency_id)
        .order_by(AdminUser.email)
    )
    return [(user, code) for user, code in rows.tuples()]


async def _agency_for(
    session: AsyncSession, role: AdminRole, agency_code: str | None
) -> int | None:
    """The agency id a user of `role` gets: agency users need one, the others must not have one."""
    if role is AdminRole.AGENCY:
        if not agency_code:
            raise AccountError("agency_required")
        agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            raise AccountError("agency_unknown", code=agency_code)
        return agency.id
    if agency_code:
        raise AccountError("agency_only_for_agency_role")
    return None


async def change_role(
    session: AsyncSession, email: str, role: AdminRole, agency_code: str | None
) -> AdminUser:
    """Give a user another role or agency (not committed); it applies from their next request."""
    user = await find_user(session, email)
    if user is None:
        raise AccountError("user_unknown")
    user.agency_id = await _agency_for(session, role, agency_code)
    user.role = role
    return user


async def enable_user(session: AsyncSession, email: str) -> AdminUser:
    """Let a disabled user sign in again (not committed)."""
    user = await find_user(session, email)
    if user is None:
        raise AccountError("user_unknown")
    user.disabled_at = None
    return user


async def disable_user(
    session: AsyncSession, email: str, now: Callable[[], datetime] = utcnow
) -> AdminUser:
    """Disable a user (not committed); their sessions stop working at their next request."""
    user = await find_user(session, email)
    if user is None:
        raise AccountError("user_unknown")
    if user.disabled_at is None:
        user.disabled_at = now()
    return user


async def change_password(
    user: AdminUser,
    current: str,
    new: str,
    repeated: str,
    min_length: int,
    now: Callable[[], datetime] = utcnow,
) -> None:
    """Change a user's password (the caller commits), after checking the current one."""
    if not await password_matches(user.password_hash, current):
        raise AccountError("password_current_wrong")
    if new != repeated:
        raise AccountError("password_mismatch")
    if new == current:
        raise AccountError("password_is_current")
    problem = password_problem(new, user.email, min_length)
    if problem is not None:
        raise AccountError(problem.value, min=min_length)
    user.password_hash = await hash_password(new)
    user.password_changed_at = now()


async def reset_password(
    session: AsyncSession,
    email: str,
    password: str,
    min_length: int,
    now: Callable[[], datetime] = utcnow,
) -> AdminUser:
    """Set a new password for a user who lost theirs (not committed), and enable them again:
    an administrator's act on the server, so no current password is asked for."""
    user = await find_user(session, email)
    if user is None:
        raise AccountError("user_unknown")
    problem = password_problem(password, user.email, min_length)
    if problem is not None:
        raise AccountError(problem.value, min=min_length)
    user.password_hash = await hash_password(password)
    user.password_changed_at = now()
    user.disabled_at = None
    return user
