"""`qanagat apikeys create|list|revoke`: keys of the integrations that report service events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from core import apikeys
from core.settings import Settings

T = TypeVar("T")


def _run(work: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    from core.db import create_engine, create_session_factory

    settings = Settings()

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with create_session_factory(engine)() as session:
                done = await work(session, settings)
                await session.commit()
                return done
        finally:
            await engine.dispose()

    return asyncio.run(go())


@click.group("apikeys")
def apikeys_group() -> None:
    """API keys of integrations (queue systems, eGov) for POST /api/v1/service-events."""


@apikeys_group.command("create")
@click.argument("name")
@click.option("--agency", "agencies", multiple=True, help="An agency code the key may report for.")
@click.option("--all-agencies", is_flag=True, help="The key may report for every agency.")
@click.option(
    "--signing-secret",
    is_flag=True,
    help="Also make a signing secret: requests must then carry an HMAC-SHA256 signature.",
)
def create(name: str, agencies: tuple[str, ...], all_agencies: bool, signing_secret: bool) -> None:
    """Create a key for integration NAME; the key (and secret) are shown once, here."""
    if bool(agencies) == all_agencies:
        raise click.UsageError("give --agency CODE (one or more) or --all-agencies")

    async def work(session: AsyncSession, settings: Settings) -> apikeys.CreatedKey:
        return await apikeys.create(
            session,
            settings.secret_bytes(),
            name,
            None if all_agencies else list(agencies),
            with_signing_secret=signing_secret,
        )

    try:
        created = _run(work)
    except apikeys.UnknownAgencies as error:
        raise click.ClickException(str(error)) from None
    scope = ", ".join(created.api_key.agency_codes or []) or "all agencies"
    click.echo(f"API key {created.api_key.id} '{name}' for {scope}.")
    click.echo("Keep these now; they are not stored and cannot be shown again:")
    click.echo(f"  key:            {created.key}")
    if created.signing_secret:
        click.echo(f"  signing secret: {created.signing_secret}")


@apikeys_group.command("list")
def list_keys() -> None:
    """Every key: id, name, scope, signing, created, last used, revoked."""

    async def work(session: AsyncSession, _settings: Settings) -> list[object]:
        return list(await apikeys.all_keys(session))

    keys = _run(work)
    if not keys:
        click.echo("no API keys")
        return
    click.echo(
        f"{'id':>4}  {'name':<24} {'prefix':<11} {'agencies':<20} signed  "
        f"{'created':<16} {'last used':<16} revoked"
    )
    for key in keys:
        assert isinstance(key, apikeys.ApiKey)
        scope = ",".join(key.agency_codes) if key.agency_codes is not None else "*"
        click.echo(
            f"{key.id:>4}  {key.name[:24]:<24} {key.prefix:<11} {scope[:20]:<20} "
            f"{'yes' if key.sealed_signing_secret else 'no':<7} "
            f"{_when(key.created_at):<16} {_when(key.last_used_at):<16} {_when(key.revoked_at)}"
        )


def _when(moment: object) -> str:
    from datetime import datetime

    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else "-"


@apikeys_group.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID: its requests are refused from now on."""

    async def work(session: AsyncSession, _settings: Settings) -> object:
        return await apikeys.revoke(session, key_id)

    revoked = _run(work)
    if revoked is None:
        raise click.ClickException(f"no API key {key_id}")
    click.echo(f"API key {key_id} revoked")
