"""`qanagat users add|list|disable`: the password from stdin (never an argument), the rules an
account must meet, and the audit log of user changes."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import accounts
from core.models import AdminRole, AdminUser, AuditEvent
from qanagat.cli import main
from tests.conftest import Seed


@pytest.fixture
def run(database_url: str, seed: Seed, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QANAGAT_DATABASE_URL", database_url)

    def invoke(*args: str, password: str | None = None):  # type: ignore[no-untyped-def]
        stdin = None if password is None else password + "\n"
        return CliRunner().invoke(main, ["users", *args], input=stdin)

    return invoke


def users_in(database_url: str) -> list[AdminUser]:
    from core.db import create_engine, create_session_factory

    async def read() -> list[AdminUser]:
        engine = create_engine(database_url)
        try:
            async with create_session_factory(engine)() as db:
                return list(await db.scalars(select(AdminUser).order_by(AdminUser.email)))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_adding_listing_and_disabling_users(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("add", "Analyst@Example.KZ", "--role", "analyst", password="a long pass phrase")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "added analyst@example.kz (analyst)"
    agency = run(
        "add",
        "ala@example.kz",
        "--role",
        "agency",
        "--agency",
        "ALA",
        "--language",
        "kk",
        password="another long phrase",
    )
    assert agency.exit_code == 0, agency.output

    listed = run("list")
    lines = [line.split("\t") for line in listed.output.strip().splitlines()]
    assert [(cells[0], cells[1], cells[2], cells[3], cells[5]) for cells in lines] == [
        ("ala@example.kz", "agency", "ALA", "kk", "active"),
        ("analyst@example.kz", "analyst", "-", "ru", "active"),
    ]
    [ala, analyst] = users_in(database_url)
    assert analyst.password_hash.startswith("$argon2id$")
    assert "a long pass phrase" not in analyst.password_hash
    assert ala.role is AdminRole.AGENCY and ala.agency_id is not None

    disabled = run("disable", "ANALYST@example.kz")
    assert disabled.exit_code == 0 and disabled.output.strip() == "disabled analyst@example.kz"
    assert "disabled" in run("list").output.splitlines()[1]

    reset = run("password", "analyst@example.kz", password="a fresh pass phrase")
    assert (
        reset.exit_code == 0 and reset.output.strip() == "new password set for analyst@example.kz"
    )
    assert run("list").output.splitlines()[1].endswith("active")
    [_ala, again] = users_in(database_url)
    assert asyncio.run(accounts.password_matches(again.password_hash, "a fresh pass phrase"))
    assert run("password", "analyst@example.kz", password="short").exit_code == 1


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("x@example.kz", "--role", "agency"), "a long pass phrase", "needs an agency code"),
        (
            ("x@example.kz", "--role", "agency", "--agency", "NOPE"),
            "a long pass phrase",
            "no agency with code NOPE",
        ),
        (
            ("x@example.kz", "--role", "analyst", "--agency", "ALA"),
            "a long pass phrase",
            "only with the agency role",
        ),
        (("x@example.kz", "--role", "admin"), "short", "at least 12 characters"),
        (("x@example.kz", "--role", "admin"), "X@example.kz", "must not be your e-mail"),
        (("not-an-email", "--role", "admin"), "a long pass phrase", "not a valid e-mail"),
    ],
)
def test_what_an_account_must_meet(run, database_url: str, args, password, message) -> None:  # type: ignore[no-untyped-def]
    result = run("add", *args, password=password)
    assert result.exit_code == 1
    assert message in result.output
    assert users_in(database_url) == []


def test_an_email_is_taken_whatever_its_case(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert (
        run("add", "admin@example.kz", "--role", "admin", password="a long pass phrase").exit_code
        == 0
    )
    again = run("add", "ADMIN@example.kz", "--role", "analyst", password="a long pass phrase")
    assert again.exit_code == 1 and "already registered" in again.output
    assert run("disable", "nobody@example.kz").exit_code == 1


async def test_user_changes_are_in_the_audit_log(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    # The same work the command does, inside this test's event loop.
    from admin.audit import Action, record
    from core.clock import utcnow

    async with session_factory() as db:
        user = await accounts.add_user(
            db, accounts.NewUser("a@example.kz", AdminRole.ADMIN), "a long pass phrase", 12
        )
        record(db, Action.USER_ADDED, at=utcnow(), actor="qanagat users add", user_id=user.id)
        await db.commit()
        events = list(await db.scalars(select(AuditEvent)))
    assert [(e.action, e.user_id) for e in events] == [("user_added", user.id)]


def test_a_role_changes_and_a_disabled_user_is_enabled_again(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("add", "someone@example.kz", "--role", "analyst", password="a long pass phrase")
    assert added.exit_code == 0, added.output
    changed = run("role", "someone@example.kz", "--role", "agency", "--agency", "ALA")
    assert changed.exit_code == 0, changed.output
    assert changed.output.strip() == "someone@example.kz is now agency, ALA"
    [user] = users_in(database_url)
    assert user.role is AdminRole.AGENCY and user.agency_id is not None
    refused = run("role", "someone@example.kz", "--role", "analyst", "--agency", "ALA")
    assert refused.exit_code != 0 and "only with the agency role" in refused.output
    assert run("disable", "someone@example.kz").exit_code == 0
    enabled = run("enable", "someone@example.kz")
    assert enabled.exit_code == 0 and enabled.output.strip() == "enabled someone@example.kz"
    [user] = users_in(database_url)
    assert user.disabled_at is None
    unknown = run("enable", "nobody@example.kz")
    assert unknown.exit_code != 0 and "There is no such user." in unknown.output
