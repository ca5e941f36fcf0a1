"""Accounts: passwords kept as argon2id, sign-in refused alike for an unknown e-mail and a
wrong password, throttled after repeated failures, sessions that end when idle, when too old,
when the user is disabled or changes the password; the password change page; the audit log."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import accounts
from admin.audit import Action, record
from core.models import AdminSession, AdminUser
from tests.admin_fixtures import (
    ADMIN_EMAIL,
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    PASSWORD,
    AdminSite,
    Person,
    admin_settings,
    running_admin,
)
from tests.conftest import Seed
from tests.web_fixtures import read_page


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, redis_url: str | None
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed, redis_url=redis_url) as running:
        yield running


def test_production_passwords_are_argon2id_at_rfc_9106_strength(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.undo()  # the test-strength hasher of conftest.py
    stored = accounts.HASHER.hash("a long enough password")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_a_user_signs_in_and_out_and_the_audit_log_says_so(site: AdminSite) -> None:
    person = site.person()
    page = await person.sign_in(ADMIN_EMAIL.upper())  # e-mails are case-insensitive
    assert page.status == 200 and page.path == "/admin/"
    cookie = next(c for c in person.session.cookie_jar if c.key == "qanagat_admin")
    assert cookie["httponly"] and cookie["path"] == "/admin"
    assert cookie["samesite"] == "Lax" and not cookie["secure"]
    out = await person.send("/admin/logout")
    assert out.path == "/admin/login"
    assert (await person.open("/admin/")).path == "/admin/login"
    async with site.session_factory() as db:
        assert list(await db.scalars(select(AdminSession))) == []
    actions = [(e.action, e.actor) for e in await site.audit()]
    assert actions[-2:] == [("login", ADMIN_EMAIL), ("logout", ADMIN_EMAIL)]


async def test_cookies_are_secure_when_the_public_url_is_https(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    settings = admin_settings(public_url="https://qanagat.example.kz")
    async with running_admin(session_factory, seed, settings) as site:
        person = site.person()
        async with person.session.get("/admin/login") as form:
            pre = form.cookies["qanagat_admin_pre"]
            assert pre["secure"] and pre["httponly"]
            person.page = read_page(form.status, str(form.url), await form.text())
        # The test client speaks plain http, so it hands the Secure cookie back itself.
        async with person.session.post(
            "/admin/login",
            data={"csrf": person.csrf, "email": ADMIN_EMAIL, "password": PASSWORD},
            headers={"Cookie": f"qanagat_admin_pre={pre.value}"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            assert "Secure" in response.headers.getall("Set-Cookie")[0]


async def test_unknown_email_and_wrong_password_get_the_same_answer(site: AdminSite) -> None:
    unknown = await site.person().sign_in("nobody@example.kz", PASSWORD)
    wrong = await site.person().sign_in(ADMIN_EMAIL, "not the password at all")
    assert unknown.status == wrong.status == 401
    assert unknown.error == wrong.error == "Неверная электронная почта или пароль."
    failed = [e for e in await site.audit() if e.action == "login_failed"]
    assert [e.actor for e in failed] == ["nobody@example.kz", ADMIN_EMAIL]


async def test_five_failures_block_that_email_even_with_the_right_password(site: AdminSite) -> None:
    for _ in range(5):
        assert (await site.person().sign_in(ANALYST_EMAIL, "wrong password 123")).status == 401
    blocked = await site.person().sign_in(ANALYST_EMAIL, PASSWORD)
    assert blocked.status == 429
    assert blocked.error == "Слишком много неудачных попыток. Попробуйте снова через 15 мин."
    # Other people are not locked out by someone guessing this e-mail... from elsewhere; here
    # every attempt comes from one address, which is throttled as well.
    assert (await site.person().sign_in(ADMIN_EMAIL, PASSWORD)).status == 429


async def test_the_block_ends_with_its_window(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_admin(session_factory, seed) as site:  # in-memory throttle, our clock
        for _ in range(5):
            await site.person().sign_in(ANALYST_EMAIL, "wrong password 123")
        assert (await site.person().sign_in(ANALYST_EMAIL, PASSWORD)).status == 429
        site.clock.advance(minutes=15)
        assert (await site.person().sign_in(ANALYST_EMAIL, PASSWORD)).status == 200


async def test_a_session_ends_after_30_idle_minutes(site: AdminSite) -> None:
    person = await site.signed_in(ADMIN_EMAIL)
    site.clock.advance(minutes=29)
    assert (await person.open("/admin/agencies")).path == "/admin/agencies"
    site.clock.advance(minutes=29)  # active 29 minutes ago: still alive
    assert (await person.open("/admin/agencies")).path == "/admin/agencies"
    site.clock.advance(minutes=30)
    page = await person.open("/admin/agencies")
    assert page.path == "/admin/login"
    assert page.hidden("next") == "/admin/agencies"  # where sign-in will lead back to


async def test_a_session_ends_after_12_hours_however_active(site: AdminSite) -> None:
    person = await site.signed_in(ADMIN_EMAIL)
    for _ in range(47):
        site.clock.advance(minutes=15)
        assert (await person.open("/admin/")).path == "/admin/"
    site.clock.advance(minutes=15)  # 12 hours since sign-in
    assert (await person.open("/admin/")).path == "/admin/login"


async def test_a_disabled_user_is_out_at_once(site: AdminSite) -> None:
    person = await site.signed_in(AGENCY_EMAIL)
    async with site.session_factory() as db:
        await accounts.disable_user(db, AGENCY_EMAIL)
        await db.commit()
    assert (await person.open("/admin/agencies/ALA")).path == "/admin/login"
    again = await site.person().sign_in(AGENCY_EMAIL)
    assert again.status == 401


async def test_changing_the_password(site: AdminSite) -> None:
    person = await site.signed_in(ANALYST_EMAIL)
    elsewhere = await site.signed_in(ANALYST_EMAIL)
    await person.open("/admin/password")
    wrong = await person.send(
        "/admin/password", ("current", "nope"), ("new", "x" * 12), ("repeat", "x" * 12)
    )
    assert wrong.status == 400 and wrong.error == "Текущий пароль неверен."
    mismatch = await person.send(
        "/admin/password",
        ("current", PASSWORD),
        ("new", "a new pass phrase"),
        ("repeat", "another one"),
    )
    assert mismatch.error == "Новые пароли не совпадают."
    short = await person.send(
        "/admin/password", ("current", PASSWORD), ("new", "short"), ("repeat", "short")
    )
    assert short.error == "Пароль слишком короткий, нужно не меньше 12 символов."
    email = await person.send(
        "/admin/password",
        ("current", PASSWORD),
        ("new", ANALYST_EMAIL.upper()),
        ("repeat", ANALYST_EMAIL.upper()),
    )
    assert email.error == "Пароль не должен совпадать с электронной почтой."

    done = await person.send(
        "/admin/password",
        ("current", PASSWORD),
        ("new", "a new pass phrase"),
        ("repeat", "a new pass phrase"),
    )
    assert done.status == 200 and done.path == "/admin/password"
    assert "Пароль изменён." in done.html
    assert (await person.open("/admin/")).path == "/admin/"  # this browser stays signed in
    assert (await elsewhere.open("/admin/")).path == "/admin/login"  # the other session ended
    assert (await site.person().sign_in(ANALYST_EMAIL, PASSWORD)).status == 401
    assert (await site.person().sign_in(ANALYST_EMAIL, "a new pass phrase")).status == 200
    async with site.session_factory() as db:
        user = await accounts.find_user(db, ANALYST_EMAIL)
        assert isinstance(user, AdminUser) and user.password_changed_at == site.clock()
    assert "password_changed" in [e.action for e in await site.audit()]


async def test_the_language_is_remembered_for_the_user(site: AdminSite) -> None:
    person = await site.signed_in(ADMIN_EMAIL)
    await person.open("/admin/agencies")
    page = await person.send("/admin/language", ("lang", "kk"), ("back", "/admin/agencies"))
    assert page.path == "/admin/agencies" and page.lang == "kk"
    assert "Мемлекеттік органдар" in page.headings
    later = await site.signed_in(ADMIN_EMAIL)  # another browser, the same person
    assert (await later.open("/admin/")).lang == "kk"


async def test_the_sign_in_page_speaks_the_browsers_language(site: AdminSite) -> None:
    page = await site.person(accept_language="kk-KZ,kk;q=0.9,ru;q=0.8").open("/admin/login")
    assert page.lang == "kk" and page.heading == "Жүйеге кіру"
    chosen = await site.person().open("/admin/login?lang=en")
    assert chosen.lang == "en" and chosen.heading == "Sign in"


async def test_sign_in_goes_back_to_the_page_asked_for_but_never_elsewhere(site: AdminSite) -> None:
    person = site.person()
    page = await person.open("/admin/agencies?kind=local")
    assert page.path == "/admin/login"
    back = await person.post(
        "/admin/login",
        [
            ("csrf", person.csrf),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("next", page.hidden("next") or ""),
        ],
    )
    assert back.path == "/admin/agencies" and "kind=local" in back.url
    other = site.person()
    await other.open("/admin/login")
    away = await other.post(
        "/admin/login",
        [
            ("csrf", other.csrf),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("next", "//evil.example/admin/"),
        ],
    )
    assert away.path == "/admin/"


async def test_behind_the_proxy_each_client_is_throttled_on_its_own(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    settings = admin_settings(trusted_proxy_hops=1, admin_login_max_failures=3)
    async with running_admin(session_factory, seed, settings) as site:

        async def attempt(client: str, email: str, password: str) -> int:
            person = site.person()
            await person.open("/admin/login")
            async with person.session.post(
                "/admin/login",
                data={"csrf": person.csrf, "email": email, "password": password},
                headers={"X-Forwarded-For": f"203.0.113.9, {client}"},
                allow_redirects=False,
            ) as response:
                return response.status

        for number in range(3):
            assert await attempt("198.51.100.1", f"guess{number}@example.kz", "x") == 401
        assert await attempt("198.51.100.1", ADMIN_EMAIL, PASSWORD) == 429
        assert await attempt("198.51.100.2", ADMIN_EMAIL, PASSWORD) == 303
        clients = {e.client for e in await site.audit() if e.action == "login_failed"}
        assert clients == {"198.51.100.1"}


async def test_150_parallel_guesses_at_one_email_get_at_most_5_password_checks(
    site: AdminSite,
) -> None:
    """Sent at once, from one address: each guess is counted before its password is checked,
    so the limit holds however the checks interleave (in Redis as in memory)."""
    people = [site.person() for _ in range(150)]
    for person in people:  # each has its sign-in form (and CSRF cookie) before the burst
        await person.open("/admin/login")

    async def guess(person: Person, number: int) -> int:
        fields = [("csrf", person.csrf), ("email", ANALYST_EMAIL), ("password", f"guess {number}")]
        return (await person.post("/admin/login", fields)).status

    statuses = await asyncio.gather(*(guess(p, n) for n, p in enumerate(people)))
    assert statuses.count(401) == 5
    assert statuses.count(429) == 145
    checked = [
        e
        for e in await site.audit()
        if e.action == "login_failed" and (e.details or {}).get("reason") == "credentials"
    ]
    assert len(checked) == 5


@pytest.mark.parametrize("smuggled", ["\r\nSet-Cookie: x=1", "\n", "\x00", "\t/admin/"])
async def test_next_and_back_with_control_characters_lead_home(
    site: AdminSite, smuggled: str
) -> None:
    """A CR/LF would split the Location header (aiohttp then dropped the connection)."""
    person = site.person()
    await person.open("/admin/login")
    signed = await person.post(
        "/admin/login",
        [
            ("csrf", person.csrf),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("next", "/admin/agencies" + smuggled),
        ],
    )
    assert signed.status == 200 and signed.path == "/admin/"
    chosen = await person.send("/admin/language", ("lang", "en"), ("back", "/admin/x" + smuggled))
    assert chosen.status == 200 and chosen.path == "/admin/"
    login_page = await site.person().open("/admin/login?next=/admin/agencies" + quote(smuggled))
    assert login_page.status == 200 and login_page.hidden("next") == ""


async def test_an_email_with_control_characters_is_refused_and_the_audit_export_still_works(
    site: AdminSite,
) -> None:
    person = site.person()
    await person.open("/admin/login")
    refused = await person.post(
        "/admin/login",
        [("csrf", person.csrf), ("email", "x\x01\x1b@example.kz"), ("password", "whatever")],
    )
    assert refused.status == 400
    assert not [e for e in await site.audit() if "\x01" in e.actor]
    # Whatever reached the log before (or comes by another way) cannot break its spreadsheet.
    async with site.session_factory() as db:
        record(db, Action.LOGIN_FAILED, at=site.clock(), actor="old\x01\x02@example.kz")
        await db.commit()
    admin = await site.signed_in(ADMIN_EMAIL)
    status, _headers, body = await admin.download("/admin/audit?export=audit&format=xlsx")
    assert status == 200
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    assert "old@example.kz" in [row[1] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("new", "error"),
    [
        (" " * 14, "Пароль слишком простой (пробелы или повторяющиеся символы)."),
        ("aaaaaaaaaaaaaa", "Пароль слишком простой (пробелы или повторяющиеся символы)."),
        ("abcabcabcabcabc", "Пароль слишком простой (пробелы или повторяющиеся символы)."),
        ("qwertyuiop123", "Этот пароль есть в списке самых распространённых"),
        ("Password2024!", "Этот пароль есть в списке самых распространённых"),
        (PASSWORD, "Новый пароль должен отличаться от текущего."),
    ],
)
async def test_blank_repeated_common_and_current_passwords_are_refused(
    site: AdminSite, new: str, error: str
) -> None:
    person = await site.signed_in(ANALYST_EMAIL)
    await person.open("/admin/password")
    refused = await person.send(
        "/admin/password", ("current", PASSWORD), ("new", new), ("repeat", new)
    )
    assert refused.status == 400 and (refused.error or "").startswith(error)
    assert (await site.person().sign_in(ANALYST_EMAIL, PASSWORD)).status == 200


def test_the_common_password_list_is_the_shipped_one() -> None:
    assert accounts.is_common_password("iloveyou")
    assert accounts.is_common_password("Sunshine123")
    assert not accounts.is_common_password("correct horse battery staple")


def test_the_proxy_setting_the_docs_name_is_the_real_one() -> None:
    """docs/admin.md once named a setting that does not exist."""
    from core.settings import Settings

    docs = (Path(__file__).parent.parent / "docs" / "admin.md").read_text()
    named = set(re.findall(r"QANAGAT_[A-Z_]+", docs))
    real = {f"QANAGAT_{name.upper()}" for name in Settings.model_fields}
    assert named <= real, named - real
    assert "QANAGAT_TRUSTED_PROXY_HOPS" in named
