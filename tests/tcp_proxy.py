"""A small TCP proxy for fault tests: put it in front of Redis or PostgreSQL, then cut every
connection through it (and refuse or swallow new ones) and restore it, without touching the
server itself, which other test runs share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = "forward"  # "forward", or while cut: "refuse" or "swallow"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        await self._close_server()
        self._abort_all()

    async def cut(self, *, swallow: bool = False) -> None:
        """Every open connection reset; new ones refused, or (`swallow`) accepted and never
        answered, as a network that drops packets would."""
        self.mode = "swallow" if swallow else "refuse"
        if not swallow:
            await self._close_server()
        self._abort_all()

    async def restore(self) -> None:
        self.mode = "forward"
        if self._server is None:
            await self.start()

    @contextlib.asynccontextmanager
    async def outage(self, *, swallow: bool = False) -> AsyncIterator[None]:
        await self.cut(swallow=swallow)
        try:
            yield
        finally:
            await self.restore()

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.mode != "forward":
            return  # swallowed: held open, never answered, until cut again or stopped
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
