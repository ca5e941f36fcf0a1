"""Schema migrations (Alembic), configured in code so they run from the installed package.

`upgrade`/`downgrade` are synchronous; the migration environment drives the async engine with its
own event loop. From async code use `upgrade_async`/`downgrade_async`, which run the command in a
worker thread and leave the caller's loop free.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

import migrations


def _script_location() -> Path:
    """The directory of the `migrations` package (env.py, versions/)."""
    if migrations.__file__:
        return Path(migrations.__file__).resolve().parent
    # Imported as a namespace package (a stale editable install made before migrations/ had an
    # __init__.py): its __path__ still lists the directory.
    for entry in migrations.__path__:
        if (Path(entry) / "env.py").is_file():
            return Path(entry).resolve()
    raise RuntimeError(f"migrations package without env.py: {list(migrations.__path__)}")


SCRIPT_LOCATION = _script_location()


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # Same layout as alembic.ini: revision files are named after their id ("0001_initial.py").
    config.set_main_option("file_template", "%%(rev)s")
    config.set_main_option("path_separator", "os")
    # configparser interpolates "%": a password like "p%40ss" must survive the round trip.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision` (default: the latest)."""
    _ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database down to `revision` (default: empty)."""
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """`upgrade` for callers inside an event loop: runs in a worker thread."""
    await asyncio.to_thread(upgrade, database_url, revision)


async def downgrade_async(database_url: str, revision: str = "base") -> None:
    """`downgrade` for callers inside an event loop: runs in a worker thread."""
    await asyncio.to_thread(downgrade, database_url, revision)


def _ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its directory (e.g. a fresh checkout without var/)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return
    if database.startswith("file:"):  # URI filename (`?uri=true`)
        database = database.removeprefix("file:").split("?", 1)[0]
        if not database or database.startswith(":memory:"):
            return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
