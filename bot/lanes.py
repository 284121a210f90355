"""An httpx transport of single-connection lanes, for the RunComfy client.

httpcore's pool rescans every pooled connection on each request and each answer,
so its cost per request grows with the connections it holds (on it the lag misses
its target: docs/benchmarks.md). Here each lane is httpx's own
transport with a pool of one connection; a request takes the least busy lane and
gives it back when its answer is closed. The client still sees one
`httpx.AsyncClient`, with everything httpx does (auth, timeouts, TLS), and only
public httpx classes are used.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import cast

import httpx


class LaneTransport(httpx.AsyncBaseTransport):
    def __init__(self, lanes: int, *, verify: ssl.SSLContext | bool = True) -> None:
        if lanes < 1:
            raise ValueError("a lane transport needs at least one lane")
        if verify is True:
            verify = httpx.create_ssl_context()  # one context for all lanes, not one each
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._lanes = [httpx.AsyncHTTPTransport(verify=verify, limits=one) for _ in range(lanes)]
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
