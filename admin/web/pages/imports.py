"""Imports (administrators): upload an indicators file, read its row-level problems before
anything is saved, then confirm to store it. The checked file waits on the server
(admin/indicator_uploads.py); the confirmation carries only its token. Problems are said in
the reader's language (`import_problem_*` in messages.yaml); the command line says them in
English."""

from __future__ import annotations

from aiohttp import web

from admin import indicator_uploads as uploads
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.keys import client_of, config_of, lang_of, signed_in
from admin.web.render import message_page, page, redirect, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.indicator_file import FileProblem
from core.models import IndicatorUpload

PREVIEW_ROWS = 50  # rows shown before confirming; the count says how many there are


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/imports", import_list, name="imports")
    add_route(app, "POST", "/imports", import_check, name="imports_check")
    add_route(app, "POST", "/imports/confirm", import_confirm, name="imports_confirm")


def _uploader(request: web.Request) -> uploads.Uploader:
    viewer = signed_in(request)
    return uploads.Uploader(viewer.user_id, viewer.email, client_of(request))


def problem_text(problem: FileProblem, lang: str) -> str:
    """A file's problem in `lang`; one without a known key keeps its English message."""
    key = f"import_problem_{problem.key}"
    if problem.key and key in words.WORDS:
        return words.say(key, lang, **problem.params)
    return problem.message


def _history(request: web.Request, items: list[IndicatorUpload]) -> Table:
    lang = lang_of(request)
    return Table(
        "imports",
        "table_imports",
        [
            Column("at", "col_when", "datetime"),
            Column("who", "col_who"),
            Column("file", "col_file"),
            Column("status", "col_status"),
            Column("rows", "col_rows", "int"),
            Column("problems", "col_problems", "int"),
        ],
        [
            {
                "at": u.created_at,
                "who": u.actor,
                "file": u.filename,
                "status": words.say(f"import_status_{u.status}", lang),
                "rows": u.rows,
                "problems": u.problems,
            }
            for u in items
        ],
    )


@allow(ADMINS)
async def import_list(request: web.Request) -> web.StreamResponse:
    async with config_of(request).session_factory() as db:
        history = _history(request, await uploads.past_uploads(db))

    stored = request.query.get("stored", "")

    def render() -> web.StreamResponse:
        return _form_page(request, history, stored_rows=int(stored) if stored.isdigit() else None)

    return await page_or_export(request, [history], render)


def _form_page(
    request: web.Request,
    history: Table | None = None,
    *,
    checked: uploads.Checked | None = None,
    error: str | None = None,
    stored_rows: int | None = None,
    status: int = 200,
) -> web.Response:
    return page(
        request,
        "imports.html",
        {
            "history": history,
            "history_exports": export_links(request, history) if history else None,
            "checked": checked,
            "preview": checked.rows[:PREVIEW_ROWS] if checked else [],
            "problems": [
                {"line": problem.line, "message": problem_text(problem, lang_of(request))}
                for problem in (checked.problems if checked else [])
            ],
            "stored_rows": stored_rows,
            "error": error,
            "max_kb": uploads.MAX_UPLOAD_BYTES // 1000,
            "pending_minutes": uploads.PENDING_MINUTES,
        },
        status=status,
    )


@allow(ADMINS)
async def import_check(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    form = await request.post()  # already read (and size-limited) by the CSRF check
    field = form.get("file")
    if not isinstance(field, web.FileField):
        return _form_page(request, error=words.say("import_choose_file", lang), status=400)
    content = field.file.read(uploads.MAX_UPLOAD_BYTES + 1)
    if len(content) > uploads.MAX_UPLOAD_BYTES:
        error = words.say("import_too_large", lang, max=uploads.MAX_UPLOAD_BYTES // 1000)
        return _form_page(request, error=error, status=413)
    if not content:
        return _form_page(request, error=words.say("import_empty", lang), status=400)
    config = config_of(request)
    async with config.session_factory() as db:
        checked = await uploads.check_upload(
            db, field.filename or "", content, by=_uploader(request), now=config.clock()
        )
        await db.commit()
    return _form_page(request, checked=checked, status=422 if checked.problems else 200)


@allow(ADMINS)
async def import_confirm(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = form.get("upload")
    if not isinstance(token, str) or not token or len(token) > 64:
        return message_page(request, "import_not_pending", 404)
    config = config_of(request)
    async with config.session_factory() as db:
        done = await uploads.confirm_upload(db, token, by=_uploader(request), now=config.clock())
        if done is None:
            return message_page(request, "import_not_pending", 404)
        await db.commit()
    if done.problems:
        return _form_page(request, checked=done, status=422)
    return redirect(url_for(request, "imports", {"stored": done.upload.rows}))
