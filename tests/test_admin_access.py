"""Who may open what in the admin: every route, discovered from the router, visited as
anonymous, agency, analyst and admin, must do what it declares; an agency user cannot reach
another agency by changing an id in the URL or a filter; a form without its CSRF token is
refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.web.access import ACCESS_TABLE, OUTCOME_HEADER, Access, access_of
from admin.web.app import ADMIN_APP
from core.models import AdminRole
from tests.admin_fixtures import (
    AGENCY_EMAIL,
    EMAILS,
    AdminSite,
    Clock,
    Person,
    admin_settings,
    build_admin_server_app,
    running_admin,
)
from tests.conftest import Seed

# Values for the parameters of routes; a new parameter must be added here, or the walk fails.
ROUTE_PARAMETERS = {
    "code": "ALA",
    "service": "ALA-S1",
    "office": "ALA-01",
    "filename": "admin.css",
    "reference": "Q-AAAAAAAA",
    "dataset": "ala_schools_2026",
    "run": "1",
}


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


def admin_routes(app: web.Application) -> list[tuple[str, str, web.AbstractRoute]]:
    """(method, path, route) of every route of the admin app, straight from its router."""
    found = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        if "directory" in info:  # static files
            path = f"{info['prefix']}/{ROUTE_PARAMETERS['filename']}"
        elif "formatter" in info:
            path = info["formatter"].format(**ROUTE_PARAMETERS)
        else:
            path = info["path"]
        found.append((route.method, path, route))
    return found


def the_admin(site: AdminSite) -> web.Application:
    return site.server.app[ADMIN_APP]


def test_every_admin_route_declares_who_may_open_it(session_factory) -> None:  # type: ignore[no-untyped-def]
    app = build_admin_server_app(admin_settings(), session_factory, Clock())[ADMIN_APP]
    routes = admin_routes(app)
    assert len(routes) >= 10
    undeclared = [str(route) for route in app.router.routes() if access_of(app, route) is None]
    assert undeclared == []  # HEAD routes included
    assert set(app[ACCESS_TABLE]) <= {route for _m, _p, route in routes} | set(app.router.routes())


def test_the_declarations_say_what_the_roles_mean(session_factory) -> None:  # type: ignore[no-untyped-def]
    app = build_admin_server_app(admin_settings(), session_factory, Clock())[ADMIN_APP]
    by_name = {route.name: access_of(app, route) for route in app.router.routes() if route.name}
    assert by_name["audit"] == Access(frozenset({AdminRole.ADMIN}))
    assert by_name["users"] == Access(frozenset({AdminRole.ADMIN}))
    assert by_name["login"] == Access(None)
    overview = by_name["overview"]
    assert overview is not None and overview.agency_home
    assert AdminRole.AGENCY not in (overview.roles or ())
    agency = by_name["agency"]
    assert agency is not None and AdminRole.AGENCY in (agency.roles or ())


def outcome_of(person: Person) -> str:
    response = person.last
    assert response is not None
    outcome = response.headers.get(OUTCOME_HEADER)
    if outcome == "login":
        assert response.status == 303
        assert response.headers["Location"].startswith("/admin/login")
    elif outcome == "home":
        assert response.status == 303
        assert response.headers["Location"] == "/admin/agencies/ALA"
    elif outcome == "forbidden":
        assert response.status == 403
    else:
        assert outcome is None, outcome
        assert response.status < 500
        assert response.status != 403
    return outcome or "allowed"


@pytest.mark.parametrize("role", [None, "agency", "analyst", "admin"])
async def test_every_route_does_for_each_role_what_it_declares(
    site: AdminSite, role: str | None
) -> None:
    admin = the_admin(site)
    routes = admin_routes(admin)
    as_role = AdminRole(role) if role else None
    checked = []

    async def someone() -> Person:
        if role is None:
            person = site.person()
            await person.open("/admin/login")  # the sign-in form's CSRF token
            return person
        return await site.signed_in(EMAILS[role])

    person = await someone()
    for method, path, route in routes:
        access = access_of(admin, route)
        assert access is not None, path
        if method == "GET":
            await person.open(path, follow=False)
            checked.append((method, path, outcome_of(person), access.outcome(as_role)))
            continue
        # A page with a form of ours gives the token an honest form would carry.
        form_page = await person.open("/admin/login" if role is None else "/admin/password")
        await person.post(path, [("csrf", form_page.hidden("csrf") or "")], follow=False)
        checked.append((method, path, outcome_of(person), access.outcome(as_role)))
        person = await someone()  # the form may have ended the session (sign-out)
    wrong = [(m, p, got, want) for m, p, got, want in checked if got != want]
    assert wrong == []
    assert len(checked) == len(routes)


async def test_an_agency_user_cannot_open_another_agency_by_its_code(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    assert (await almaty.open("/admin/agencies/ALA")).status == 200
    other = await almaty.open("/admin/agencies/AST")
    assert other.status == 404
    assert "Астан" not in other.html
    status, _headers, body = await almaty.download("/admin/agencies/AST?export=services&format=csv")
    assert status == 404 and "Жилищная помощь".encode() not in body
    analyst = await site.signed_in(EMAILS["analyst"])
    assert (await analyst.open("/admin/agencies/AST")).status == 200


async def test_an_agency_user_cannot_filter_its_page_by_another_agencys_service(
    site: AdminSite,
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    assert (await almaty.open("/admin/agencies/ALA?service=ALA-S1")).status == 200
    assert (await almaty.open("/admin/agencies/ALA?service=AST-S1")).status == 404
    status, _h, _body = await almaty.download(
        "/admin/agencies/ALA?service=AST-S1&export=offices&format=xlsx"
    )
    assert status == 404


async def test_an_agency_user_is_taken_to_its_agency_from_the_lists(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/agencies?region=AST")
    assert page.path == "/admin/agencies/ALA"
    assert "Акимат города Алматы" in page.headings


async def test_a_form_without_its_csrf_token_is_refused_in_the_users_language(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.send("/admin/language", ("lang", "kk"))
    refused = await admin.post("/admin/logout", [])
    assert refused.status == 403 and refused.lang == "kk"
    assert "Форманың мерзімі өтіп кеткен" in (refused.error or "")
    wrong = await admin.post("/admin/logout", [("csrf", "0" * 64)])
    assert wrong.status == 403
    still = await admin.open("/admin/")
    assert still.status == 200 and still.path == "/admin/"  # the session survived both


async def test_the_sign_in_form_needs_its_token_too(site: AdminSite) -> None:
    person = site.person()
    page = await person.post("/admin/login", [("email", EMAILS["admin"]), ("password", "x")])
    assert page.status == 403


async def test_unknown_addresses_and_methods_get_a_page_not_a_bare_error(site: AdminSite) -> None:
    person = site.person(accept_language="en")
    missing = await person.open("/admin/no-such-page")
    assert missing.status == 404 and missing.lang == "en" and missing.heading == "Not found"
    wrong = await person.open("/admin/logout")  # a form's address, opened as a page
    assert wrong.status == 405 and wrong.heading == "Method not allowed"
