"""`qanagat services sample CODE N`: invite 1 in N of a service's events (1: every one)."""

from __future__ import annotations

import asyncio

import click

from core.settings import Settings


@click.group("services")
def services_group() -> None:
    """Public services: how their events are invited."""


@services_group.command("sample")
@click.argument("code")
@click.argument("every", type=click.IntRange(min=1, max=1_000_000))
def sample(code: str, every: int) -> None:
    """Invite 1 in EVERY events of service CODE (which ones is fixed by each external id)."""
    from sqlalchemy import update

    from core.db import create_engine, create_session_factory
    from core.models import PublicService

    async def work() -> int:
        engine = create_engine(Settings().database_url)
        try:
            async with create_session_factory(engine)() as session:
                result = await session.execute(
                    update(PublicService)
                    .where(PublicService.code == code)
                    .values(invitation_sample_every=every)
                )
                await session.commit()
                return int(getattr(result, "rowcount", 0) or 0)
        finally:
            await engine.dispose()

    if asyncio.run(work()) == 0:
        raise click.ClickException(f"no service '{code}'")
    click.echo(f"service {code}: 1 in {every} events invited")
