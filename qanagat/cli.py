"""The `qanagat` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from bot.engine.definition import SurveyError, json_schema, load_survey
from core.settings import Settings
from qanagat.apikeys import apikeys_group
from qanagat.appeal_commands import import_appeals
from qanagat.dataset_commands import import_datasets
from qanagat.ledger import ledger
from qanagat.posters import qr
from qanagat.results_commands import results_group
from qanagat.sampling import services_group
from qanagat.score_commands import import_group, score_command
from qanagat.summary_commands import summaries_group
from qanagat.users import users


def _print_version(context: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or context.resilient_parsing:
        return
    from qanagat.version import code_version

    click.echo(f"qanagat {code_version()}")
    context.exit()


@click.group()
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version (release and commit) and exit.",
)
def main() -> None:
    """Qanagat: citizens rate public services; the ratings feed the evaluation of state bodies."""
    from qanagat.observability import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (QANAGAT_HOST).")
@click.option("--port", type=int, default=None, help="Port (QANAGAT_PORT).")
@click.option("--no-bot", is_flag=True, help="Serve the web only, even with a Telegram token.")
def serve(host: str | None, port: int | None, no_bot: bool) -> None:
    """Run the web server (mobile page, /healthz) and, with a token, the Telegram bot."""
    from aiohttp import web

    from qanagat.app import build_app, load_surveys, settle_heap

    settings = _served_at(Settings(), host, port)
    if settings.uses_dev_secret and settings.public_url.startswith("https://"):
        raise click.ClickException(
            "QANAGAT_SECRET_KEY is the development default; set a long random secret in production"
        )
    try:
        surveys = load_surveys(settings)
    except SurveyError as error:
        click.echo(str(error), err=True)
        raise click.ClickException(
            "a survey file is malformed; the server does not start"
        ) from None
    links = asyncio.run(_links(settings, surveys))
    from core.integrity.flags import RulesError, load_rules

    try:
        load_rules(settings.anti_gaming_rules)
    except RulesError as error:
        raise click.ClickException(f"{error}; the server does not start") from None
    from bot.telegram.runner import WebhookSecretProblem
    from core.clock import reporting_day, utcnow
    from core.working_days import warn_about_estimated_feasts

    warn_about_estimated_feasts(reporting_day(utcnow()))
    try:
        app = build_app(settings, with_bot=not no_bot, surveys=surveys, with_jobs=True)
    except WebhookSecretProblem as error:
        raise click.ClickException(f"{error}; the server does not start") from None
    click.echo("Qanagat is starting. Open:")
    for label, link in links:
        click.echo(f"  {label:<28} {link}")
    if settings.telegram_token is None:
        click.echo("  (set QANAGAT_TELEGRAM_TOKEN to run the Telegram bot too)")
    settle_heap()
    web.run_app(app, host=settings.host, port=settings.port, print=None)


def _served_at(settings: Settings, host: str | None, port: int | None) -> Settings:
    """Settings with `--host`/`--port` applied; without QANAGAT_PUBLIC_URL the links printed
    (and put in invitations) point at the address the server really listens on."""
    served = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    if "public_url" in settings.model_fields_set:
        return served
    everywhere = served.host in ("0.0.0.0", "::", "")  # noqa: S104 (recognised, not bound)
    shown = "127.0.0.1" if everywhere else served.host
    return served.model_copy(update={"public_url": f"http://{shown}:{served.port}"})


async def _links(settings: Settings, surveys: Mapping[str, object]) -> list[tuple[str, str]]:
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import create_engine, create_session_factory
    from qanagat import demo

    base = settings.public_url.rstrip("/")
    links = [("health check", f"{base}/healthz")]
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            from qanagat.users import admin_links

            links += await admin_links(session, base)
            survey = surveys[settings.default_survey]
            invitation = await demo.fresh_invitation_link(session, survey, base)  # type: ignore[arg-type]
            if invitation:
                links.append(("survey (demo invitation)", invitation))
                links.append(("survey (office QR, walk-in)", _poster_link(settings)))
                links.append(("rate an open data set", f"{base}/d"))
                links.append(("public results", f"{base}/results"))
                links.append(("open data (recompute)", f"{base}/results/data"))
                if settings.telegram_token is not None:
                    token = invitation.rsplit("/", 1)[-1]
                    links.append(
                        (
                            "survey in Telegram",
                            f"https://t.me/{settings.telegram_bot_username}?start={token}",
                        )
                    )
    except SQLAlchemyError as error:
        links.append(("database not ready", f"{type(error).__name__}: run `qanagat db upgrade`"))
    finally:
        await engine.dispose()
    return links


def _poster_link(settings: Settings) -> str:
    """Today's walk-in link of the demo office (poster codes rotate daily)."""
    from core.clock import reporting_day, utcnow
    from core.walk_ins import OfficeCodes
    from qanagat import demo

    code = OfficeCodes(settings.secret_bytes()).code(demo.DEMO_OFFICE, reporting_day(utcnow()))
    return f"{settings.public_url.rstrip('/')}/o/{code}"


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (1 if one failed).")
def worker(once: bool) -> None:
    """Background jobs: deliver Telegram invitations (continuously); delete write-back
    addresses no longer needed, watch complaint deadlines, send the citizens' complaint
    notices, and send agencies' staff chats their summaries after each closed week or month
    and their deadline alerts (every QANAGAT_WORKER_INTERVAL_S). Serves /healthz and /metrics
    on QANAGAT_WORKER_HOST:QANAGAT_WORKER_PORT."""
    from qanagat.worker import run_worker

    settings = Settings()
    ok = True
    with contextlib.suppress(KeyboardInterrupt):
        ok = asyncio.run(run_worker(settings, once=once))
    sys.exit(0 if ok else 1)


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from core.migrate import upgrade

    upgrade(Settings().database_url, revision)
    click.echo(f"database at {revision}")
    if revision == "head":
        from qanagat.ledger import scrub_stored_answers

        scrub_stored_answers(Settings())


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION ('base' empties it)."""
    from core.migrate import downgrade

    downgrade(Settings().database_url, revision)
    click.echo(f"database at {revision}")


@main.group()
def demo() -> None:
    """Demo data for trying Qanagat out."""


@demo.command("load")
@click.option(
    "--responses", type=int, default=None, help="Synthetic responses to create [default: 6600]."
)
def demo_load(responses: int | None) -> None:
    """Load demo agencies, services, offices, indicators and responses (once; reruns add
    nothing)."""
    from bot.engine.definition import load_survey_dir
    from qanagat import demo as demo_data

    settings = Settings()
    # the survey files alone: importing the app (aiogram and all) would double the load's time
    surveys = load_survey_dir(settings.survey_dir)
    if settings.default_survey not in surveys:
        raise click.ClickException(
            f"no survey '{settings.default_survey}' in {settings.survey_dir}"
        )
    wanted = demo_data.DEMO_RESPONSES if responses is None else responses
    summary = asyncio.run(_load_demo(settings, surveys[settings.default_survey], wanted))
    click.echo(
        f"demo data: {summary.agencies} agencies, {summary.services} services, "
        f"{summary.offices} offices, {summary.indicators} indicators, "
        f"{summary.responses} responses, {summary.datasets} open data sets, "
        f"{summary.dataset_ratings} data-set ratings"
    )
    click.echo(
        f"score the demo year: qanagat score --compare kz-2020 proposed-s30 "
        f"--period {demo_data.DEMO_PERIOD}"
    )


async def _load_demo(settings: Settings, survey: object, responses: int) -> Any:
    from core.db import create_engine, create_session_factory
    from core.integrity.flags import load_rules
    from qanagat import demo as demo_data

    rules = load_rules(settings.anti_gaming_rules)  # what the server judges completions by
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await demo_data.load(
                session,
                survey,  # type: ignore[arg-type]
                settings.secret_bytes(),
                rules,
                responses,
            )
    finally:
        await engine.dispose()


@main.group()
def surveys() -> None:
    """Survey definition files."""


@surveys.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def surveys_validate(paths: tuple[Path, ...]) -> None:
    """Check survey files: schema, references, expressions, kk/ru/en labels. Exit 1 on problems."""
    failed = False
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            try:
                definition = load_survey(file)
            except SurveyError as error:
                failed = True
                for problem in error.problems:
                    click.echo(str(problem))
                continue
            click.echo(
                f"{file}: ok ({definition.id} {definition.version}, "
                f"{len(definition.questions)} questions)"
            )
    sys.exit(1 if failed else 0)


@surveys.command("schema")
def surveys_schema() -> None:
    """Print the JSON Schema of survey files (for editors)."""
    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


main.add_command(apikeys_group)
main.add_command(import_group)
import_group.add_command(import_appeals)
import_group.add_command(import_datasets)
main.add_command(ledger)
main.add_command(qr)
main.add_command(results_group)
main.add_command(score_command)
main.add_command(services_group)
main.add_command(summaries_group)
main.add_command(users)
