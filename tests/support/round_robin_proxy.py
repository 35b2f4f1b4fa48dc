"""A round-robin HTTP/1.1 reverse proxy on loopback, standing in for a Kubernetes Service.

Every request goes to the next upstream in turn, whatever connection or MCP session it
belongs to: the harshest load balancing a stateless server must survive. Each request gets
its own upstream connection (`Connection: close`), and the upstream's response bytes are
streamed back unchanged (JSON or an SSE stream alike), then the client connection closes.

    with RoundRobinProxy(["http://127.0.0.1:8001", ...]) as proxy:
        ... requests to proxy.base_url ...
        proxy.served  # {upstream: requests it answered}

Runs an asyncio loop in a background thread; listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024


class ProxyError(Exception):
    pass


class RoundRobinProxy:
    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = [urlsplit(url) for url in upstreams]
        for upstream in self.upstreams:
            if upstream.hostname not in {"127.0.0.1", "::1"}:
                raise ValueError(f"upstreams must be on loopback, got {upstream.geturl()}")
        self._next = itertools.cycle(range(len(upstreams)))
        self._lock = threading.Lock()
        self.served: Counter[str] = Counter()
        self.errors: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(timeout=30)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def _pick(self) -> int:
        with self._lock:
            return next(self._next)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        try:
            await self._forward(head, reader, writer)
        except Exception as error:  # recorded for the test to report, and answered with 502
            self.errors.append(f"{type(error).__name__}: {error}")
            if not writer.is_closing():
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        finally:
            writer.close()

    async def _forward(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(head) > MAX_HEAD_BYTES:
            raise ProxyError("request head too large")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        headers = [line.split(":", 1) for line in header_lines]
        names = {name.strip().lower() for name, _ in headers}
        if "transfer-encoding" in names:
            raise ProxyError("chunked request bodies are not implemented (the MCP client sends Content-Length)")
        length = next((int(value) for name, value in headers if name.strip().lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        # One upstream connection per request: keep-alive would pin a client to one replica.
        kept = [
            f"{name}:{value}" for name, value in headers if name.strip().lower() not in {"connection", "keep-alive"}
        ]
        upstream_head = "\r\n".join([request_line, *kept, "Connection: close", "", ""]).encode("latin-1")

        index = self._pick()
        upstream = self.upstreams[index]
        upstream_reader, upstream_writer = await asyncio.open_connection(upstream.hostname, upstream.port)
        try:
            upstream_writer.write(upstream_head + body)
            await upstream_writer.drain()
            # The upstream answers `Connection: close` too, so its framing (Content-Length or
            # chunked SSE) passes through untouched and EOF marks the end.
            first = True
            while chunk := await upstream_reader.read(65536):
                if first:
                    with self._lock:
                        self.served[upstream.geturl()] += 1
                    first = False
                writer.write(chunk)
                await writer.drain()
            if first:
                raise ProxyError(f"{upstream.geturl()} closed without answering")
        finally:
            upstream_writer.close()
