"""An httpx transport of single-connection lanes: a pool that costs O(1) per request.

httpcore's pool rescans every pooled connection on each request and each answer
(and asks each idle socket whether it is readable, through anyio's attribute
lookups): with 16 connections busy a request cost 2.3 ms of CPU against 1.4 ms here
(loopback, `python -m benchmarks.http_lanes`). Here each lane is
an ordinary httpx transport with a pool of one connection; a request takes the
least busy lane and gives it back when its answer is closed. The client still sees
one `httpx.AsyncClient`, with everything httpx does (auth, timeouts, proxies, TLS).
Its connections run on the asyncio network backend (bot/sockets.py), not anyio's.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import cast

import httpcore
import httpx

from bot.sockets import AsyncioBackend, transport_on


class LaneTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        lanes: int,
        *,
        verify: ssl.SSLContext | bool = True,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        if lanes < 1:
            raise ValueError("a lane transport needs at least one lane")
        if verify is True:
            verify = httpx.create_ssl_context()  # one context for all lanes, not one each
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        backend = backend or AsyncioBackend()
        self._lanes = [transport_on(backend, verify=verify, limits=one) for _ in range(lanes)]
        # Requests on each lane not yet closed: above one, they wait in its pool.
        self._busy = [0] * lanes

    @property
    def busy(self) -> tuple[int, ...]:
        """Requests on each lane whose answer is not closed yet."""
        return tuple(self._busy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        lane = min(range(len(busy)), key=busy.__getitem__)
        busy[lane] += 1
        try:
            response = await self._lanes[lane].handle_async_request(request)
        except BaseException:
            busy[lane] -= 1
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_LaneStream(cast(httpx.AsyncByteStream, response.stream), busy, lane),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()


class _LaneStream(httpx.AsyncByteStream):
    """The answer's body; closing it frees its lane (once, however often it is closed)."""

    def __init__(self, inner: httpx.AsyncByteStream, busy: list[int], lane: int) -> None:
        self._inner = inner
        self._busy = busy
        self._lane: int | None = lane

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._lane is not None:
                self._busy[self._lane] -= 1
                self._lane = None
