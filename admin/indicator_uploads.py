"""Indicator files uploaded in the admin: checked first, stored only when a person confirms.

    upload, rows, problems = await check_upload(db, file, by=viewer, now=now)   # nothing stored
    outcome = await confirm_upload(db, upload.token, by=viewer, now=now)        # stored, audited

The checked file stays on the server (`indicator_upload`), and confirming stores it from that
copy, checked again against the agencies as they are then: what the browser sends back is only
the upload's token, so nobody can slip other rows in between preview and confirmation. A
pending upload expires after `PENDING_MINUTES`; its content is dropped once it is stored,
refused or expired, and the row stays as the list of past imports."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin.audit import Action, record
from core.indicator_file import FileProblem, IndicatorFileError, IndicatorRow, InputRule
from core.indicators import check_indicator_file, store_indicators
from core.models import IndicatorUpload
from scoring import available_methodologies, load_methodology
from scoring.model import UNIT_RANGE

MAX_UPLOAD_BYTES = 1_000_000  # within aiohttp's default request limit (1 MiB), ~20 000 rows
PENDING_MINUTES = 30
CHECKED, REFUSED, STORED, EXPIRED = "checked", "refused", "stored", "expired"


@cache
def input_rules() -> dict[str, InputRule]:
    """Every input a shipped methodology reads, with the range its unit allows: what an
    indicator file may carry, in the admin's upload and in `qanagat import indicators` alike."""
    rules: dict[str, InputRule] = {}
    for name in available_methodologies():
        for spec in load_methodology(name).inputs.values():
            low, high = UNIT_RANGE[spec.unit]
            rules.setdefault(spec.name, InputRule(low, high, whole=spec.unit == "count"))
    return rules


@dataclass(frozen=True)
class Uploader:
    user_id: int
    email: str
    client: str | None = None


@dataclass(frozen=True)
class Checked:
    upload: IndicatorUpload
    rows: list[IndicatorRow]
    problems: list[FileProblem]


async def _expire_pending(db: AsyncSession, now: datetime) -> None:
    await db.execute(
        update(IndicatorUpload)
        .where(
            IndicatorUpload.status == CHECKED,
            IndicatorUpload.created_at < now - timedelta(minutes=PENDING_MINUTES),
        )
        .values(status=EXPIRED, content=None)
    )


async def check_upload(
    db: AsyncSession, filename: str, content: bytes, *, by: Uploader, now: datetime
) -> Checked:
    """Check a file and keep it as a pending upload (or a refused one, without its content).
    Stores no indicator; the caller commits."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValueError("file too large")
    await _expire_pending(db, now)
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:300] or "upload"
    try:
        rows = await check_indicator_file(db, content, name, input_rules())
        problems: list[FileProblem] = []
    except IndicatorFileError as error:
        rows, problems = [], error.problems
    upload = IndicatorUpload(
        token=secrets.token_urlsafe(32),
        user_id=by.user_id,
        actor=by.email[:254],
        filename=name,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content=content if not problems else None,
        status=CHECKED if not problems else REFUSED,
        rows=len(rows),
        problems=len(problems),
        created_at=now,
    )
    db.add(upload)
    await db.flush()
    return Checked(upload, rows, problems)


async def pending_upload(
    db: AsyncSession, token: str, *, by: Uploader, now: datetime
) -> IndicatorUpload | None:
    """The uploader's own checked upload with `token`, if it has not expired."""
    upload: IndicatorUpload | None = await db.scalar(
        select(IndicatorUpload).where(
            IndicatorUpload.token == token,
            IndicatorUpload.user_id == by.user_id,
            IndicatorUpload.status == CHECKED,
            IndicatorUpload.created_at >= now - timedelta(minutes=PENDING_MINUTES),
        )
    )
    return upload


async def confirm_upload(
    db: AsyncSession, token: str, *, by: Uploader, now: datetime
) -> Checked | None:
    """Store a pending upload's rows and audit it, in one transaction the caller commits.
    None: no such pending upload (unknown, someone else's, already stored, expired). Problems
    (the agencies changed since the check): nothing stored, the upload refused."""
    upload = await pending_upload(db, token, by=by, now=now)
    if upload is None or upload.content is None:
        return None
    try:
        rows = await check_indicator_file(db, upload.content, upload.filename, input_rules())
    except IndicatorFileError as error:
        upload.status, upload.content, upload.problems = REFUSED, None, len(error.problems)
        return Checked(upload, [], error.problems)
    stored = await store_indicators(db, rows, upload.filename)
    upload.status, upload.content, upload.rows, upload.stored_at = STORED, None, stored, now
    record(
        db,
        Action.IMPORT,
        at=now,
        actor=by.email,
        user_id=by.user_id,
        client=by.client,
        details={
            "file": upload.filename,
            "sha256": upload.sha256,
            "rows": stored,
            "periods": sorted({row.period for row in rows}),
        },
    )
    return Checked(upload, rows, [])


async def past_uploads(db: AsyncSession, limit: int = 100) -> list[IndicatorUpload]:
    """The latest uploads, newest first (stored, refused, pending, expired)."""
    return list(
        await db.scalars(
            select(IndicatorUpload)
            .order_by(IndicatorUpload.created_at.desc(), IndicatorUpload.id.desc())
            .limit(limit)
        )
    )
