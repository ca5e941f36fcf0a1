"""Progress bars for long commands, on standard error and only on a terminal: a script or a
cron job reading the output gets the same lines as before."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yields `advance(n)`: n more of `total` done."""
    if not sys.stderr.isatty() or total <= 0:
        yield lambda _done: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update
