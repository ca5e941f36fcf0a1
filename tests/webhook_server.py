"""The whole app as a webhook server in a process of its own, configured by the environment
(QANAGAT_*), for fault tests that kill it with SIGKILL: `python -m tests.webhook_server`."""

from __future__ import annotations

from aiohttp import web

from core.settings import Settings
from qanagat.app import build_app


def main() -> None:
    settings = Settings()
    web.run_app(build_app(settings), host="127.0.0.1", port=settings.port, print=None)


if __name__ == "__main__":
    main()
