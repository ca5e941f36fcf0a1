"""For administrators: the API keys of the integrations that report service events (queue
systems, eGov). Creating one shows the key, and its signing secret if asked for, once, on the
answer to the form: neither is stored in the clear, so they cannot be shown again. Listing
and revoking as `qanagat apikeys` does, through core.apikeys; each creation and revocation is
in the audit log, committed with it."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from admin.audit import Action
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.forms import form_id, form_text, form_texts
from admin.web.keys import audit, config_of, lang_of, signed_in
from admin.web.render import page, redirect, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core import apikeys
from core.models import Agency, ApiKey

MAX_NAME = 100
MAX_CODE = 300  # longer than any code: compared, never cut to match another


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/apikeys", key_list, name="apikeys")
    add_route(app, "POST", "/apikeys", key_create, name="apikeys_create")
    add_route(app, "POST", "/apikeys/revoke", key_revoke, name="apikeys_revoke")


@allow(ADMINS)
async def key_list(request: web.Request) -> web.StreamResponse:
    revoked = request.query.get("revoked", "")
    return await _keys_page(request, revoked=int(revoked) if revoked.isdigit() else None)


async def _keys_page(
    request: web.Request,
    *,
    created: apikeys.CreatedKey | None = None,
    revoked: int | None = None,
    confirming: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.StreamResponse:
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        keys = await apikeys.all_keys(db)
        agencies = [
            {"code": a.code, "name": a.name(lang)}
            for a in await db.scalars(select(Agency).order_by(Agency.code))
        ]
    table = _table(keys, lang)

    def render() -> web.StreamResponse:
        return page(
            request,
            "apikeys.html",
            {
                "table": table,
                "exports": export_links(request, table),
                "keys": [key for key in keys if key.revoked_at is None],
                "confirming": next(
                    (k for k in keys if k.id == confirming and k.revoked_at is None), None
                ),
                "agencies": agencies,
                "created": created,
                "revoked": revoked,
                "error": error,
            },
            status=status,
        )

    return await page_or_export(request, [table], render)


def _table(keys: list[ApiKey], lang: str) -> Table:
    everyone = words.say("apikey_all_agencies", lang)
    return Table(
        "apikeys",
        "table_apikeys",
        [
            Column("id", "col_id", "int"),
            Column("name", "col_name"),
            Column("prefix", "col_prefix"),
            Column("agencies", "col_agencies"),
            Column("signed", "col_signed"),
            Column("created", "col_created", "datetime"),
            Column("last_used", "col_last_used", "datetime"),
            Column("revoked", "col_revoked", "datetime"),
        ],
        [
            {
                "id": key.id,
                "name": key.name,
                "prefix": key.prefix + "…",
                "agencies": ", ".join(key.agency_codes)
                if key.agency_codes is not None
                else everyone,
                "signed": words.say("word_yes" if key.sealed_signing_secret else "word_no", lang),
                "created": key.created_at,
                "last_used": key.last_used_at,
                "revoked": key.revoked_at,
            }
            for key in keys
        ],
    )


@allow(ADMINS)
async def key_create(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    form = await request.post()
    name = form_text(form, "name", MAX_NAME + 1)
    chosen = form_texts(form, "agency", MAX_CODE)
    every = form.get("scope") == "all"
    if chosen is None:  # a code no agency can have
        message = words.say("agency_unknown", viewer.language, code="?")
        return await _keys_page(request, error=message, status=400)
    codes = sorted(set(chosen))
    if not name or len(name) > MAX_NAME:
        key = "apikey_name_required"
        return await _keys_page(request, error=words.say(key, viewer.language), status=400)
    if not every and not codes:
        key = "apikey_scope_required"
        return await _keys_page(request, error=words.say(key, viewer.language), status=400)
    async with config.session_factory() as db:
        try:
            created = await apikeys.create(
                db,
                config.settings.secret_bytes(),
                name,
                None if every else codes,
                with_signing_secret=form.get("signing") == "1",
            )
        except apikeys.UnknownAgencies as unknown:
            message = words.say("agency_unknown", viewer.language, code=", ".join(unknown.codes))
            return await _keys_page(request, error=message, status=400)
        made = created.api_key
        details = {"key": made.id, "name": made.name, "prefix": made.prefix}
        details |= {"agencies": made.agency_codes, "signed": created.signing_secret is not None}
        audit(request, db, Action.API_KEY_CREATED, details)
        await db.commit()
    # Not a redirect: the key travels once, in this answer (never in a URL), not cached.
    return await _keys_page(request, created=created)


@allow(ADMINS)
async def key_revoke(request: web.Request) -> web.StreamResponse:
    """Two steps: the chosen key (nothing is chosen in advance) is shown with its name and last
    use for a confirmation; only the confirmation's own form (`confirm=1`) revokes it."""
    viewer = signed_in(request)
    form = await request.post()
    if not form.get("key"):
        message = words.say("apikey_choose", viewer.language)
        return await _keys_page(request, error=message, status=400)
    key_id = form_id(form, "key")
    if key_id is None:
        message = words.say("apikey_unknown", viewer.language)
        return await _keys_page(request, error=message, status=400)
    if form.get("confirm") != "1":
        async with config_of(request).session_factory() as db:
            known = {key.id for key in await apikeys.all_keys(db) if key.revoked_at is None}
        if key_id not in known:
            message = words.say("apikey_unknown", viewer.language)
            return await _keys_page(request, error=message, status=404)
        return await _keys_page(request, confirming=key_id)
    return await _revoke(request, key_id)


async def _revoke(request: web.Request, key_id: int) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    async with config.session_factory() as db:
        revoked = await apikeys.revoke(db, key_id)
        if revoked is None:
            message = words.say("apikey_unknown", viewer.language)
            return await _keys_page(request, error=message, status=404)
        details = {"key": revoked.id, "name": revoked.name, "prefix": revoked.prefix}
        audit(request, db, Action.API_KEY_REVOKED, details)
        await db.commit()
    return redirect(url_for(request, "apikeys", {"revoked": revoked.id}))
