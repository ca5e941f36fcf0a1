"""An aiohttp app served on a free port of this machine, in the test's own event loop.

async with served(build_web_app(session_factory)) as base_url:
    await page.goto(f"{base_url}/s/...")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """The app's base URL while the block runs; the app is cleaned up after it."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
