"""A small TCP proxy with faults you can switch on: latency, or HTTP 500 for every request.

The drill puts one between two of the stack's processes (for instance the producer worker
and the consumer web) and turns a fault on and off while traffic flows:

- ``latency``: every chunk forwarded, either way, waits this many seconds first;
- ``http_500``: new connections are answered ``500 Internal Server Error`` without reaching
  the upstream, and the connections open when it is switched on are closed (a client
  keeping its connection alive would never see the fault otherwise).

It runs an asyncio loop in a daemon thread; ``close()`` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

ANSWER_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 22\r\nConnection: close\r\n\r\ndrill: injected fault\n"
)


@dataclass
class FaultProxy:
    listen_port: int
    upstream_port: int
    host: str = "127.0.0.1"
    latency: float = 0.0
    http_500: bool = False
    connections: int = 0
    answered_500: int = 0
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.listen_port}"

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.listen_port)
            )
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"proxy-{self.listen_port}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def set_http_500(self, on: bool) -> None:
        self.http_500 = on
        if on:
            self._call(self._drop_all)

    def close(self) -> None:
        if self._loop is None:
            return

        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._drop_all()
            if self._loop is not None:
                self._loop.stop()

        self._call(shutdown)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = None

    # --- inside the loop ------------------------------------------------------------
    def _call(self, fn: object) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(fn)  # type: ignore[arg-type]

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.http_500:
            await self._answer_500(reader, writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:  # upstream down: the client sees its connection close, as it would
            writer.close()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(chunk)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    async def _answer_500(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            writer.write(ANSWER_500)
            await writer.drain()
            self.answered_500 += 1
        with contextlib.suppress(OSError):
            writer.close()
