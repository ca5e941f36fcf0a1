"""`qanagat users …`: who may sign in to the admin web. Passwords come from a hidden prompt
(asked twice) or, when stdin is not a terminal, from its first line; never from an argument,
which would stay in the shell's history and in the process list."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings

if TYPE_CHECKING:
    from admin.audit import Action
    from core.models import AdminUser

T = TypeVar("T")


@click.group()
def users() -> None:
    """Admin web users (roles: admin, analyst, agency)."""


def _read_password(prompt: bool) -> str:
    if prompt:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _message(error: Exception) -> str:
    from admin.accounts import AccountError
    from admin.web import words

    if isinstance(error, AccountError):
        return words.say(error.key, "en", **error.params)
    return str(error)


async def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from core.db import create_engine, create_session_factory

    engine = create_engine(Settings().database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "agency"]), required=True)
@click.option("--agency", "agency_code", default=None, help="Agency code (agency role only).")
@click.option("--language", type=click.Choice(["kk", "ru", "en"]), default="ru", show_default=True)
def users_add(email: str, role: str, agency_code: str | None, language: str) -> None:
    """Add a user; the password is asked for (or read from stdin)."""
    from admin import accounts
    from admin.audit import Action, record
    from core.clock import utcnow
    from core.models import AdminRole

    settings = Settings()
    password = _read_password(sys.stdin.isatty())

    async def add(session: AsyncSession) -> str:
        user = await accounts.add_user(
            session,
            accounts.NewUser(email, AdminRole(role), agency_code, language),
            password,
            settings.admin_password_min_length,
        )
        record(
            session,
            Action.USER_ADDED,
            at=utcnow(),
            actor="qanagat users add",
            user_id=user.id,
            details={"email": user.email, "role": role, "agency": agency_code},
        )
        await session.commit()
        return user.email

    try:
        added = asyncio.run(_in_session(add))
    except accounts.AccountError as error:
        raise click.ClickException(_message(error)) from None
    click.echo(f"added {added} ({role}{', ' + agency_code if agency_code else ''})")


@users.command("list")
def users_list() -> None:
    """List users: e-mail, role, agency, language, created, disabled."""
    from admin import accounts

    rows = asyncio.run(_in_session(accounts.list_users))
    for user, code in rows:
        state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
        click.echo(
            f"{user.email}\t{user.role.value}\t{code or '-'}\t{user.language}\t"
            f"{user.created_at:%Y-%m-%d}\t{state}"
        )


def _change_user(
    command: str,
    action: Action,
    change: Callable[[AsyncSession], Awaitable[tuple[AdminUser, dict[str, Any]]]],
) -> str:
    """One change to a user in one unit of work with its audit record (the user's e-mail and
    `change`'s details), as `qanagat users COMMAND`; an AccountError ends the command with its
    message. Returns the user's e-mail."""
    from admin import accounts
    from admin.audit import record
    from core.clock import utcnow

    async def apply(session: AsyncSession) -> str:
        user, details = await change(session)
        record(
            session,
            action,
            at=utcnow(),
            actor=f"qanagat users {command}",
            user_id=user.id,
            details={"email": user.email, **details},
        )
        await session.commit()
        return user.email

    try:
        return asyncio.run(_in_session(apply))
    except accounts.AccountError as error:
        raise click.ClickException(_message(error)) from None


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable a user: they can no longer sign in, and their open sessions end."""
    from admin import accounts
    from admin.audit import Action
    from admin.web.sessions import close_other_sessions

    async def disable(session: AsyncSession) -> tuple[AdminUser, dict[str, Any]]:
        user = await accounts.disable_user(session, email)
        await close_other_sessions(session, user.id, keep=None)
        return user, {}

    click.echo(f"disabled {_change_user('disable', Action.USER_DISABLED, disable)}")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled user sign in again."""
    from admin import accounts
    from admin.audit import Action

    async def enable(session: AsyncSession) -> tuple[AdminUser, dict[str, Any]]:
        return await accounts.enable_user(session, email), {}

    click.echo(f"enabled {_change_user('enable', Action.USER_ENABLED, enable)}")


@users.command("role")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "agency"]), required=True)
@click.option("--agency", "agency_code", default=None, help="Agency code (agency role only).")
def users_role(email: str, role: str, agency_code: str | None) -> None:
    """Give EMAIL another role (and agency); it applies from the user's next request."""
    from admin import accounts
    from admin.audit import Action
    from core.models import AdminRole

    async def change(session: AsyncSession) -> tuple[AdminUser, dict[str, Any]]:
        found = await accounts.find_user(session, email)
        before = found.role.value if found else None
        user = await accounts.change_role(session, email, AdminRole(role), agency_code)
        return user, {"role": role, "agency": agency_code, "was": before}

    changed = _change_user("role", Action.USER_CHANGED, change)
    click.echo(f"{changed} is now {role}{', ' + agency_code if agency_code else ''}")


@users.command("password")
@click.argument("email")
def users_password(email: str) -> None:
    """Set a new password for EMAIL (asked for, or read from stdin) and enable the user again;
    their open sessions end."""
    from admin import accounts
    from admin.audit import Action
    from admin.web.sessions import close_other_sessions

    settings = Settings()
    password = _read_password(sys.stdin.isatty())

    async def reset(session: AsyncSession) -> tuple[AdminUser, dict[str, Any]]:
        user = await accounts.reset_password(
            session, email, password, settings.admin_password_min_length
        )
        await close_other_sessions(session, user.id, keep=None)
        return user, {"by": "administrator"}

    click.echo(f"new password set for {_change_user('password', Action.PASSWORD_CHANGED, reset)}")


async def admin_links(session: AsyncSession, base: str) -> list[tuple[str, str]]:
    """What `qanagat serve` prints about the admin: its address, and how to create the first
    user while there is none (no default account exists, not even for the demo)."""
    from sqlalchemy import func, select

    from core.models import AdminUser

    links = [("admin web", f"{base}/admin/")]
    if not await session.scalar(select(func.count()).select_from(AdminUser)):
        links.append(
            ("first admin user", ".venv/bin/qanagat users add you@example.kz --role admin")
        )
    return links
