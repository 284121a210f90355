"""httpcore's network backend on asyncio's own transports, for both HTTP clients.

httpcore reaches asyncio through anyio, whose streams cost, on every socket
operation: a cancel scope and a loop timer (`fail_after`), a checkpoint on each
send, and pausing then resuming the transport around each receive (two epoll
calls). Before each request and after each answer, httpcore also asks every pooled
connection whether its socket is readable: a `poll()` and a `getpeername()` through
anyio's attribute table. At 1,000 live jobs that was about a sixth of the bot's
busy main thread (py-spy).

Here a connection is a plain `asyncio.Protocol` that keeps reading while idle (up
to HIGH_WATER bytes), so a read of buffered bytes returns at once, a write waits
only when the transport pushes back, and "readable" (a server's close of an idle
connection, or bytes nobody asked for) is known from state. Errors and deadlines
become httpcore's own exceptions, which httpx maps as it does for anyio's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

# Bytes read ahead of the caller before the socket stops being read (flow control).
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
# Each address of a host but the last gets this long to connect before the next one
# is tried: a black-holed IPv6 route must not cost a whole connect timeout. One at a
# time, not raced: Python 3.11's racing connect (`happy_eyeballs_delay`) leaks the
# winner's socket when it is cancelled just after winning.
NEXT_ADDRESS_SECONDS = 2.0


def transport_on(
    backend: httpcore.AsyncNetworkBackend,
    *,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through `backend`.

    httpx 0.28 takes no network backend (encode/httpx#3749 adds one): its pool is
    built again around `backend`, with the same TLS context and limits. Should httpx
    stop keeping the pool there, this refuses to build a transport rather than
    silently use another backend (the video client's address check lives in one).
    """
    tls = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
    limits = limits or httpx.Limits()
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        raise RuntimeError("this httpx keeps no connection pool where it is replaced")
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections on asyncio's transports (no Unix sockets: neither client uses one)."""

    async def addresses(self, host: str, port: int) -> list[str]:
        """Where a connection to `host` may go, in the order tried.

        The video client's backend checks them here (bot/downloads.py): what it
        returns is exactly what the sockets connect to.
        """
        return await resolve(host, port)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.addresses(host, port)
                transport, protocol = await _connect_in_turn(addresses, port, local)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        raw = transport.get_extra_info("socket")
        for option in socket_options or ():
            raw.setsockopt(*option)  # once connected: keep-alive and the like
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order; an IP address is its own."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _connect_in_turn(
    addresses: list[str], port: int, local: tuple[str, int] | None
) -> tuple[asyncio.BaseTransport, _Protocol]:
    """Connect to each address in turn, each but the last for NEXT_ADDRESS_SECONDS."""
    if not addresses:
        raise OSError("no address to connect to")
    loop = asyncio.get_running_loop()
    for address in addresses[:-1]:
        try:
            async with asyncio.timeout(NEXT_ADDRESS_SECONDS):
                return await loop.create_connection(_Protocol, address, port, local_addr=local)
        except (OSError, TimeoutError):
            continue  # the next address
    return await loop.create_connection(_Protocol, addresses[-1], port, local_addr=local)


class _Protocol(asyncio.Protocol):
    """Bytes received and not yet read, end of stream, and the transport's push-back."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.ended = False  # the peer closed, or the connection was lost
        self.error: BaseException | None = None  # why it was lost, if not cleanly
        self.reading_paused = False
        self.writing_paused = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: BaseException | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake()

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered < LOW_WATER and self.transport:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk

    async def wait(self, deadline: float | None) -> bool:
        """Until something changes (bytes, end, room to write); False past `deadline`.

        `deadline` is the loop's time, set once per read or write: a change that does
        not finish it (a byte while writing) must not start the time over. A plain
        future and one timer: `asyncio.timeout` would cost a scope per read.
        """
        loop = asyncio.get_running_loop()
        if deadline is not None and loop.time() >= deadline:
            return False
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter) if deadline is not None else None
        try:
            await waiter
        except TimeoutError:
            return False
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        return True

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else asyncio.get_running_loop().time() + timeout


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        if not protocol.chunks:  # else the bytes are here: no clock, no timer
            deadline = _deadline(timeout)
            while not protocol.chunks:
                if protocol.ended:
                    if protocol.error is not None:
                        error = protocol.error
                        raise httpcore.ReadError(str(error) or type(error).__name__)
                    return b""
                if not await protocol.wait(deadline):
                    raise httpcore.ReadTimeout("no answer in time")
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        transport = protocol.transport
        if transport is None or transport.is_closing() or protocol.error is not None:
            raise httpcore.WriteError("the connection is closed")
        transport.write(buffer)
        deadline = _deadline(timeout)
        while protocol.writing_paused:
            if protocol.ended:
                raise httpcore.WriteError("the connection was lost while writing")
            if not await protocol.wait(deadline):
                raise httpcore.WriteTimeout("the peer did not read in time")

    async def aclose(self) -> None:
        transport = self._protocol.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        protocol = self._protocol
        assert protocol.transport is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # asyncio's own handshake deadline would end in ConnectionAbortedError:
                # ours, a little shorter, ends in the ConnectTimeout httpx expects.
                tls = await loop.start_tls(
                    protocol.transport,
                    protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=None if timeout is None else timeout + 1,
                )
        except TimeoutError as exc:
            protocol.transport.close()
            raise httpcore.ConnectTimeout("TLS handshake took too long") from exc
        except (OSError, ssl.SSLError) as exc:
            protocol.transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        protocol.transport = tls
        return self

    def get_extra_info(self, info: str) -> Any:
        protocol = self._protocol
        if info == "is_readable":
            return bool(protocol.chunks) or protocol.ended
        key = _EXTRA_INFO.get(info)
        transport = protocol.transport
        return None if key is None or transport is None else transport.get_extra_info(key)


# httpcore's names for what asyncio's transports call otherwise.
_EXTRA_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}
