"""Which code is running: the release (the newest `v*` git tag, else the package's version)
and the commit (the image's build argument, else the checkout's HEAD). Stored score runs record
it, so a published figure names the code that computed it."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 (fixed arguments)
            ["git", *args],  # noqa: S607 (git from PATH)
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


@cache
def release() -> str:
    """The release: the newest `vX.Y.Z` tag reachable from HEAD, else pyproject's version."""
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*")
    return tag.removeprefix("v") if tag else metadata.version("qanagat")


@cache
def build_commit() -> str | None:
    """The commit the code was built from: passed in at image build time (the image has no
    git), else read from the checkout."""
    from core.settings import Settings

    given = Settings().build_commit.strip()
    return given[:12] if given else _git("rev-parse", "--short=12", "HEAD")


@cache
def code_version() -> str:
    """`release+commit` (`0.1.0+37ecdea1b2c3`), or the release alone when no commit is known."""
    commit = build_commit()
    return f"{release()}+{commit}" if commit else release()
