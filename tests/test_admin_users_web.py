"""Administrators manage users in the browser as `qanagat users` does on the server: add one
with an initial password (argon2id), change a role or agency, disable and enable, set a new
password for someone who lost theirs; every change in the audit log. Refusals say why in the
administrator's language, and nobody can lock themselves out. API keys of integrations:
created with the key shown once, listed without it, revoked; audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import accounts
from admin.web.access import Access, access_of
from admin.web.app import ADMIN_APP
from core import apikeys
from core.models import AdminRole, AdminSession, ApiKey
from tests.admin_fixtures import (
    ADMIN_EMAIL,
    ANALYST_EMAIL,
    EMAILS,
    AdminSite,
    Clock,
    admin_settings,
    build_admin_server_app,
    running_admin,
)
from tests.conftest import Seed

NEW_EMAIL = "new.head@almaty.gov.kz"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


def test_the_user_and_key_routes_are_for_admins_only(session_factory) -> None:  # type: ignore[no-untyped-def]
    app = build_admin_server_app(admin_settings(), session_factory, Clock())[ADMIN_APP]
    by_name = {route.name: access_of(app, route) for route in app.router.routes() if route.name}
    names = ["users_add", "users_role", "users_disable", "users_enable", "users_password"]
    names += ["apikeys", "apikeys_create", "apikeys_revoke"]
    assert {name: by_name[name] for name in names} == {
        name: Access(frozenset({AdminRole.ADMIN})) for name in names
    }


async def add_user(admin, email: str = NEW_EMAIL, **fields: str):  # type: ignore[no-untyped-def]
    values = {
        "email": email,
        "role": "agency",
        "agency": "ALA",
        "language": "kk",
        "password": NEW_PASSWORD,
        "repeat": NEW_PASSWORD,
        **fields,
    }
    await admin.open("/admin/users")
    return await admin.send("/admin/users", *values.items())


async def test_an_admin_adds_an_agency_user_who_then_signs_in_to_their_agency(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    page = await add_user(admin)
    assert page.status == 200 and page.path == "/admin/users"
    assert f"Пользователь {NEW_EMAIL} добавлен." in page.html
    assert f'<h2 id="h-manage">{NEW_EMAIL}</h2>' in page.html  # the new user's card is open
    async with site.session_factory() as db:
        user = await accounts.find_user(db, NEW_EMAIL)
    assert user is not None and user.role is AdminRole.AGENCY and user.language == "kk"
    assert user.password_hash.startswith("$argon2id$") and NEW_PASSWORD not in user.password_hash
    [event] = [e for e in await site.audit() if e.action == "user_added"]
    assert event.actor == ADMIN_EMAIL and event.details["email"] == NEW_EMAIL
    assert event.details["agency"] == "ALA"

    newcomer = site.person()
    home = await newcomer.sign_in(NEW_EMAIL, NEW_PASSWORD)
    assert home.path == "/admin/agencies/ALA" and home.lang == "kk"


async def test_refusals_say_why_and_keep_what_was_typed(site: AdminSite) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    page = await add_user(admin, agency="")
    assert page.status == 400
    assert page.error == "Пользователю органа нужен код органа."
    assert f'value="{NEW_EMAIL}"' in page.html  # the form is not emptied
    page = await add_user(admin, password="short", repeat="short")
    assert (
        page.status == 400 and page.error == "Пароль слишком короткий, нужно не меньше 12 символов."
    )
    page = await add_user(admin, repeat="something else entirely")
    assert page.status == 400 and page.error == "Новые пароли не совпадают."
    page = await add_user(admin, email=ANALYST_EMAIL.upper(), role="analyst", agency="")
    assert page.status == 400 and page.error == "Эта почта уже зарегистрирована."
    page = await add_user(admin, role="superuser")
    assert page.status == 400 and "admin, analyst или agency" in (page.error or "")
    async with site.session_factory() as db:
        assert await accounts.find_user(db, NEW_EMAIL) is None
    assert not [e for e in await site.audit() if e.action == "user_added"]


async def test_an_analyst_is_made_an_agency_user_and_sees_only_that_agency(
    site: AdminSite,
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    assert (await analyst.open("/admin/agencies/AST")).status == 200
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open(f"/admin/users?user={ANALYST_EMAIL}")
    page = await admin.send(
        "/admin/users/role", ("email", ANALYST_EMAIL), ("role", "agency"), ("agency", "ALA")
    )
    assert page.status == 200 and f"Роль и орган {ANALYST_EMAIL} сохранены." in page.html
    assert (await analyst.open("/admin/agencies/AST")).status == 404  # at the next request
    assert (await analyst.open("/admin/")).path == "/admin/agencies/ALA"
    [event] = [e for e in await site.audit() if e.action == "user_changed"]
    assert event.details == {
        "email": ANALYST_EMAIL,
        "role": "agency",
        "agency": "ALA",
        "was": "analyst",
    }
    refused = await admin.send(
        "/admin/users/role", ("email", ANALYST_EMAIL), ("role", "agency"), ("agency", "NOPE")
    )
    assert refused.status == 400 and refused.error == "Органа с кодом NOPE нет."


async def test_a_disabled_user_is_signed_out_and_can_come_back_when_enabled(
    site: AdminSite,
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open(f"/admin/users?user={ANALYST_EMAIL}")
    page = await admin.send("/admin/users/disable", ("email", ANALYST_EMAIL))
    assert f"Пользователь {ANALYST_EMAIL} отключён." in page.html
    assert "Отключён" in page.html  # the card says so
    assert (await analyst.open("/admin/")).path == "/admin/login"
    again = await site.person().sign_in(ANALYST_EMAIL)
    assert again.status == 401
    await admin.send("/admin/users/enable", ("email", ANALYST_EMAIL))
    back = await site.person().sign_in(ANALYST_EMAIL)
    assert back.status == 200 and back.path == "/admin/"
    actions = [e.action for e in await site.audit() if e.actor == ADMIN_EMAIL]
    assert "user_disabled" in actions and "user_enabled" in actions


async def test_a_new_password_set_by_an_admin_ends_the_users_sessions(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open(f"/admin/users?user={ANALYST_EMAIL}")
    page = await admin.send(
        "/admin/users/password",
        ("email", ANALYST_EMAIL),
        ("password", NEW_PASSWORD),
        ("repeat", NEW_PASSWORD),
    )
    assert f"Для {ANALYST_EMAIL} задан новый пароль." in page.html
    assert (await analyst.open("/admin/")).path == "/admin/login"
    assert (await site.person().sign_in(ANALYST_EMAIL)).status == 401  # the old one
    assert (await site.person().sign_in(ANALYST_EMAIL, NEW_PASSWORD)).status == 200
    [event] = [e for e in await site.audit() if e.action == "password_changed"]
    assert event.actor == ADMIN_EMAIL and event.details["by"] == "administrator"


async def test_an_admin_cannot_disable_re_role_or_reset_themselves(site: AdminSite) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.send("/admin/language", ("lang", "en"))
    card = await admin.open(f"/admin/users?user={ADMIN_EMAIL}")
    assert "You cannot disable or re-role your own account here" in card.html
    assert 'action="/admin/users/disable"' not in card.html
    for path, fields in (
        ("/admin/users/disable", [("email", ADMIN_EMAIL)]),
        ("/admin/users/role", [("email", ADMIN_EMAIL), ("role", "analyst")]),
        (
            "/admin/users/password",
            [("email", ADMIN_EMAIL), ("password", NEW_PASSWORD), ("repeat", NEW_PASSWORD)],
        ),
    ):
        refused = await admin.send(path, *fields)
        assert refused.status == 400 and "your own account" in (refused.error or ""), path
    still = await admin.open("/admin/users")
    assert still.status == 200
    async with site.session_factory() as db:
        me = await accounts.find_user(db, ADMIN_EMAIL)
    assert me is not None and me.role is AdminRole.ADMIN and me.disabled_at is None


async def test_a_form_naming_nobody_changes_nothing(site: AdminSite) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open("/admin/users")
    page = await admin.send("/admin/users/disable", ("email", "nobody@example.kz"))
    assert page.status == 400 and page.error == "Такого пользователя нет."
    async with site.session_factory() as db:
        sessions = list(await db.scalars(select(AdminSession)))
    assert sessions  # the admin's own session is untouched


@pytest.mark.parametrize("role", ["analyst", "agency"])
async def test_only_admins_may_change_users_or_keys(site: AdminSite, role: str) -> None:
    person = await site.signed_in(EMAILS[role])
    await person.open("/admin/password")
    for path in ("/admin/users", "/admin/users/disable", "/admin/apikeys"):
        refused = await person.send(path, ("email", ADMIN_EMAIL), ("name", "x"), ("scope", "all"))
        assert refused.status == 403, path
    async with site.session_factory() as db:
        me = await accounts.find_user(db, ADMIN_EMAIL)
        assert me is not None and me.disabled_at is None
        assert list(await db.scalars(select(ApiKey))) == []


async def test_an_api_key_is_shown_once_listed_without_it_and_revoked(site: AdminSite) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open("/admin/apikeys")
    created = await admin.send(
        "/admin/apikeys",
        ("name", "Almaty queue"),
        ("scope", "agencies"),
        ("agency", "ALA"),
        ("agency", "AST"),
        ("signing", "1"),
    )
    assert created.status == 200 and "Скопируйте их сейчас" in created.html
    key = created.html.split('<code class="api-key">', 1)[1].split("<", 1)[0]
    secret = created.html.split('<code class="signing-secret">', 1)[1].split("<", 1)[0]
    assert key.startswith("qk_") and secret.startswith("qs_")
    async with site.session_factory() as db:
        found = await apikeys.find(db, key)
    assert found is not None and found.agency_codes == ["ALA", "AST"]
    assert found.sealed_signing_secret is not None

    listed = await admin.open("/admin/apikeys")
    assert key not in listed.html and secret not in listed.html
    assert found.prefix in listed.html and "Almaty queue" in listed.html
    status, _headers, body = await admin.download("/admin/apikeys?export=apikeys&format=csv")
    assert status == 200 and "Almaty queue" in body.decode("utf-8-sig")
    assert key.encode() not in body

    # nothing is chosen in advance; choosing asks first, naming the key and its last use
    assert '<option value="" selected disabled>' in listed.html
    unchosen = await admin.send("/admin/apikeys/revoke", ("key", ""))
    assert unchosen.status == 400 and unchosen.error == "Выберите, какой ключ отозвать."
    asked = await admin.send("/admin/apikeys/revoke", ("key", str(found.id)))
    assert asked.status == 200 and "Отозвать ключ «Almaty queue»?" in asked.html
    assert "ещё не использовался" in asked.html
    async with site.session_factory() as db:
        still = await apikeys.find(db, key)
    assert still is not None and still.revoked_at is None  # asking revoked nothing
    revoked = await admin.send("/admin/apikeys/revoke", ("key", str(found.id)), ("confirm", "1"))
    assert revoked.status == 200 and f"Ключ {found.id} отозван." in revoked.html
    async with site.session_factory() as db:
        again = await apikeys.find(db, key)
    assert again is not None and again.revoked_at is not None
    events = [e for e in await site.audit() if e.action.startswith("api_key")]
    assert [e.action for e in events] == ["api_key_created", "api_key_revoked"]
    assert all(key not in str(e.details) and secret not in str(e.details) for e in events)


async def test_a_key_needs_a_name_and_known_agencies(site: AdminSite) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open("/admin/apikeys")
    nameless = await admin.send("/admin/apikeys", ("name", " "), ("scope", "all"))
    assert nameless.status == 400 and "название интеграции" in (nameless.error or "")
    unscoped = await admin.send("/admin/apikeys", ("name", "eGov"), ("scope", "agencies"))
    assert unscoped.status == 400 and "хотя бы один орган" in (unscoped.error or "")
    unknown = await admin.send(
        "/admin/apikeys", ("name", "eGov"), ("scope", "agencies"), ("agency", "NOPE")
    )
    assert unknown.status == 400 and unknown.error == "Органа с кодом NOPE нет."
    everyone = await admin.send("/admin/apikeys", ("name", "eGov"), ("scope", "all"))
    assert everyone.status == 200 and "Все органы" in everyone.html
    missing = await admin.send("/admin/apikeys/revoke", ("key", "999"), ("confirm", "1"))
    assert missing.status == 404 and missing.error == "Такого ключа нет."
    async with site.session_factory() as db:
        names = [k.name for k in await db.scalars(select(ApiKey))]
    assert names == ["eGov"]


NASTY = ["a\x00@example.kz", "x" * 5000, "ALA\x00", "'; drop table admin_user; --", "١٢", ""]


@pytest.mark.parametrize("value", NASTY)
async def test_no_typed_value_breaks_a_form(site: AdminSite, value: str) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    await admin.open("/admin/users")
    for path, fields in (
        ("/admin/users", [("email", value), ("role", value), ("agency", value)]),
        ("/admin/users", [("email", NEW_EMAIL), ("role", "agency"), ("agency", value)]),
        ("/admin/users", [("email", value), ("password", value), ("repeat", value)]),
        ("/admin/users/role", [("email", value), ("role", "agency"), ("agency", value)]),
        ("/admin/users/disable", [("email", value)]),
        ("/admin/users/password", [("email", ANALYST_EMAIL), ("password", value)]),
        ("/admin/apikeys", [("name", "eGov"), ("scope", "agencies"), ("agency", value)]),
        ("/admin/apikeys/revoke", [("key", value)]),
    ):
        answer = await admin.send(path, *fields)
        assert answer.status in (400, 404), (path, answer.status)
        assert answer.error, path  # a reason, in words
    named = await admin.send("/admin/apikeys", ("name", value), ("scope", "all"))
    usable = bool(value) and "\x00" not in value and len(value) <= 100
    assert named.status == (200 if usable else 400)  # any other text is a fine name
    page = await admin.open(f"/admin/users?user={value[:100]}&done=user_added&email={value[:100]}")
    assert page.status == 200 and "добавлен" not in page.html
    async with site.session_factory() as db:
        assert len(list(await db.scalars(select(ApiKey)))) == (1 if usable else 0)
        assert len(await accounts.list_users(db)) == 4
