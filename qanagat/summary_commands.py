"""`qanagat summaries send`: an administrator sends (or previews) the complaint summaries of the
last closed period to agencies' subscribed staff chats now, instead of waiting for the worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

import click

from core.settings import Settings

if TYPE_CHECKING:
    from qanagat.staff_jobs import PlannedSummary


@click.group("summaries")
def summaries_group() -> None:
    """Agencies' complaint summaries in their staff chats."""


@summaries_group.command("send")
@click.option("--agency", "agency_code", default=None, help="Only this agency (its code).")
@click.option(
    "--period",
    "kind",
    type=click.Choice(["weekly", "monthly"]),
    default=None,
    help="Send this period's summary to every chat of the agencies, whatever the chat chose.",
)
@click.option("--dry-run", is_flag=True, help="Print the messages; write and send nothing.")
def send(agency_code: str | None, kind: str | None, dry_run: bool) -> None:
    """Send the summaries of the last closed week or month to the subscribed chats. A summary
    already sent to a chat for that period is not sent again. Without --agency and --period,
    each chat gets what it subscribed for, as the worker would send it."""
    settings = Settings()
    result = asyncio.run(_send(settings, agency_code, kind, dry_run))
    if isinstance(result, str):
        raise click.ClickException(result)
    planned, outcomes = result
    if not planned:
        click.echo("no subscribed chat is owed a summary")
        return
    for item in planned:
        period = item.period
        state = "new" if item.new else "written before"
        if dry_run:
            state = "would be sent" if item.new else "already written, not sent again"
        title = f" ({item.chat_title})" if item.chat_title else ""
        click.echo(
            f"{item.agency_code} · chat {item.staff_chat_id}{title} · {period.kind} "
            f"{period.start.isoformat()}..{period.last_day.isoformat()} · {item.language} · "
            f"{state}"
        )
        if dry_run:
            click.echo(item.text)
            click.echo("")
    if not dry_run:
        sent = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
        click.echo(f"sending: {sent or 'nothing was due'}")


async def _send(
    settings: Settings, agency_code: str | None, kind: str | None, dry_run: bool
) -> tuple[list[PlannedSummary], Counter[str]] | str:
    from sqlalchemy import select

    from core.clock import utcnow
    from core.db import create_engine, create_session_factory
    from core.models import Agency
    from qanagat.staff_jobs import plan_summaries, send_owed

    if not dry_run and settings.telegram_token is None:
        return "QANAGAT_TELEGRAM_TOKEN is not set: there is no bot to send with (try --dry-run)"
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    now = utcnow()
    try:
        async with session_factory() as session:
            if agency_code is not None:
                found = await session.scalar(select(Agency.id).where(Agency.code == agency_code))
                if found is None:
                    return f"no agency '{agency_code}'"
            planned = await plan_summaries(
                session,
                now,
                agency_code=agency_code,
                kind="weekly" if kind == "weekly" else "monthly" if kind == "monthly" else None,
                dry_run=dry_run,
            )
        outcomes: Counter[str] = Counter()
        if not dry_run:
            outcomes = await send_owed(settings, session_factory, now)
        return planned, outcomes
    finally:
        await engine.dispose()
