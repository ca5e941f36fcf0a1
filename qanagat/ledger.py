"""`qanagat ledger verify|export`: re-check the hash chain of completed responses, and hand an
auditor the anonymous responses with their hashes (docs/ledger.md)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.settings import Settings
from qanagat.progress import progress_bar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.integrity.ledger import Period, Verification


@click.group()
def ledger() -> None:
    """The hash chain of completed responses."""


@ledger.command("verify")
@click.option(
    "--file",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify an export offline (no database), with its .head.json beside it.",
)
def verify_command(export_file: Path | None) -> None:
    """Recompute the chain and name the first entry that no longer matches. Exit 1 then."""
    if export_file is not None:
        from core.integrity.audit import head_path, verify_file

        try:
            result = verify_file(export_file)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise click.ClickException(f"{export_file}: cannot read it ({error})") from None
        if not head_path(export_file).exists():
            click.echo(f"note: no {head_path(export_file).name}; the head was not compared")
        if result.ok:
            click.echo(
                f"ok: {result.entries} entries ({result.first_seq}..{result.last_seq}), "
                f"head {result.head_hash}"
            )
            return
        click.echo(f"MISMATCH: {result.problem}")
        sys.exit(1)
    verification = asyncio.run(_verify(Settings()))
    if verification.ok:
        waiting = f"; {verification.queued} queued for the chain" if verification.queued else ""
        click.echo(
            f"ok: {verification.entries} entries, head {verification.head_seq} "
            f"{verification.head_hash}{waiting}"
        )
        return
    click.echo(f"MISMATCH after {verification.entries} good entries: {verification.problem}")
    sys.exit(1)


async def _verify(settings: Settings) -> Verification:
    from core.db import create_engine, create_session_factory
    from core.integrity import ledger as chain

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            total = await _chain_length(session)
            with progress_bar("checking the chain", total) as advance:
                return await chain.verify(session, advance)
    finally:
        await engine.dispose()


async def _chain_length(session: AsyncSession) -> int:
    from sqlalchemy import func, select

    from core.models import LedgerEntry

    return await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


@ledger.command("export")
@click.option("--period", required=True, help="YYYY, YYYY-MM or YYYY-MM-DD (Kazakhstan time).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The JSON Lines file (default ledger-PERIOD.jsonl); the head goes beside it.",
)
def export_command(period: str, out: Path | None) -> None:
    """Write the period's anonymous responses with their hashes, and the chain head."""
    from core.integrity.audit import head_path
    from core.integrity.ledger import ExportRefused, Period

    try:
        parsed = Period.parse(period)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    target = out or Path(f"ledger-{parsed.label}.jsonl")
    partial = target.with_name(target.name + ".partial")
    try:
        head = asyncio.run(_export(Settings(), parsed, partial))
    except ExportRefused as problem:
        partial.unlink(missing_ok=True)
        raise click.ClickException(
            f"the chain does not verify ({problem}); nothing exported. Run `qanagat ledger verify`."
        ) from None
    partial.replace(target)
    head_path(target).write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
    click.echo(f"{target}: {head['entries']} entries; head {head['head_hash']}")
    click.echo(f"{head_path(target)}: the head to compare with the published one")


async def _export(settings: Settings, period: Period, target: Path) -> dict[str, Any]:
    from core.db import create_engine, create_session_factory
    from core.integrity import ledger as chain
    from core.integrity.flags import load_rules

    engine = create_engine(settings.database_url)
    try:
        sessions = create_session_factory(engine)
        # Count and chain what is still queued first, so that the period's export holds all
        # of it, judged by the rules the server judges by.
        await chain.seal_all(sessions, load_rules(settings.anti_gaming_rules))
        async with sessions() as session:
            total = await _chain_length(session)
            with (
                target.open("w", encoding="utf-8") as out,
                progress_bar("checking the chain", total) as advance,
            ):
                return await chain.export(session, period, out, advance)
    finally:
        await engine.dispose()


def scrub_stored_answers(settings: Settings) -> None:
    """After the schema is at head: answers stored before scrubbing was done on the way in are
    scrubbed, and the ledger re-chained with a record (docs/ledger.md). Nothing to do twice."""
    scrubbed, rechained = asyncio.run(_scrub_and_rechain(settings))
    if scrubbed:
        click.echo(
            f"{scrubbed} stored answers scrubbed of personal data; ledger re-chained "
            f"({rechained} entries' content changed; recorded, see `qanagat ledger verify`)"
        )


async def _scrub_and_rechain(settings: Settings) -> tuple[int, int]:
    from core.db import create_engine, create_session_factory
    from core.integrity.rechain import scrub_and_rechain

    engine = create_engine(settings.database_url)
    try:
        return await scrub_and_rechain(create_session_factory(engine))
    finally:
        await engine.dispose()
