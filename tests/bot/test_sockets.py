"""The asyncio network backend (bot/sockets.py) under httpx, against loopback servers.

Each server is a real asyncio server on 127.0.0.1 speaking just enough HTTP/1.1;
the client is a real httpx client on the backend, as the bot builds it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

from bot import sockets
from bot.lanes import LaneTransport
from bot.sockets import HIGH_WATER, AsyncioBackend, transport_on

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@asynccontextmanager
async def serving(
    handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[tuple[str, int]]]]:
    """A loopback server; yields its base URL and the client addresses it accepted."""
    peers: list[tuple[str, int]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://localhost:{port}", peers
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


def client(base_url: str, **kwargs: object) -> httpx.AsyncClient:
    verify = kwargs.pop("verify", True)
    transport = transport_on(AsyncioBackend(), verify=verify)  # type: ignore[arg-type]
    return httpx.AsyncClient(base_url=base_url, transport=transport, **kwargs)  # type: ignore[arg-type]


async def test_a_kept_alive_connection_carries_the_next_request() -> None:
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK)

    async with serving(answer_each) as (url, peers), client(url) as http:
        for _ in range(5):
            assert (await http.get("/")).text == "ok"
    assert len(peers) == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    # The close arrives between two requests: the second must go out on a new
    # connection, not fail on the dead one (httpx raises RemoteProtocolError then).
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()

    async with serving(answer_once) as (url, peers), client(url) as http:
        assert (await http.get("/")).text == "ok"
        await asyncio.sleep(0.1)  # the server's FIN is in
        assert (await http.get("/")).text == "ok"
    assert len(peers) == 2


async def test_bytes_nobody_asked_for_retire_an_idle_connection() -> None:
    async def answer_then_chatter(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 200 OK\r\n")  # the start of an answer to no request
        await asyncio.sleep(5)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await asyncio.sleep(5)

    handlers = [answer_then_chatter, answer]

    async def dispatch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await handlers.pop(0)(reader, writer)

    async with serving(dispatch) as (url, peers), client(url) as http:
        assert (await http.get("/")).text == "ok"
        await asyncio.sleep(0.2)
        assert (await http.get("/")).text == "ok"
    assert len(peers) == 2


async def test_a_large_body_arrives_whole_and_is_read_ahead_only_so_far() -> None:
    body = bytes(range(256)) * (8 * HIGH_WATER // 256 + 7)

    async def answer_large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        await asyncio.sleep(5)

    async with (
        serving(answer_large) as (url, _),
        client(url) as http,
        http.stream("GET", "/") as response,
    ):
        read_ahead = response.extensions["network_stream"]._protocol
        received, most_ahead = b"", 0
        async for chunk in response.aiter_raw():
            received += chunk
            await asyncio.sleep(0.01)  # a slow reader: the socket pauses, then resumes
            most_ahead = max(most_ahead, read_ahead.buffered)
    assert received == body
    # At most one socket read (asyncio's are up to 256 KiB) past the limit.
    assert 0 < most_ahead <= HIGH_WATER + 256 * 1024


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with serving(never_answer) as (url, _), client(url, timeout=0.3) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/")
    assert time.monotonic() - started < 3


async def test_a_server_that_does_not_read_is_a_write_timeout() -> None:
    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with serving(never_read) as (url, _), client(url, timeout=0.3) as http:
        with pytest.raises(httpx.WriteTimeout):
            await http.post("/", content=bytes(64 * 1024 * 1024))


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(read_request) as (url, _):
        pass  # closed: nothing listens there any more
    async with client(url, timeout=2.0) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/")


async def test_a_cancelled_request_leaves_nothing_open() -> None:
    # pytest turns an unclosed socket's ResourceWarning into a failure.
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with serving(slow) as (url, _), client(url) as http:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await http.get("/")
        assert http._transport._pool.connections == []  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server(authority: trustme.CA, name: str = "localhost") -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def tls_client(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


async def test_https_verifies_the_name_and_keeps_its_connection(authority: trustme.CA) -> None:
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK)

    async with (
        serving(answer_each, tls_server(authority)) as (url, peers),
        client(url, verify=tls_client(authority)) as http,
    ):
        for _ in range(3):
            response = await http.get("/")
            assert response.text == "ok"
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object").version().startswith("TLS")
    assert len(peers) == 1


async def test_https_refuses_a_certificate_for_another_name(authority: trustme.CA) -> None:
    async with (
        serving(read_request, tls_server(authority, "elsewhere.example")) as (url, _),
        client(url, verify=tls_client(authority)) as http,
    ):
        with pytest.raises(httpx.ConnectError):
            await http.get("/")


async def test_a_stalled_handshake_is_a_connect_timeout(authority: trustme.CA) -> None:
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with (
        serving(say_nothing) as (url, _),
        client(url.replace("http:", "https:"), verify=tls_client(authority), timeout=0.3) as http,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            await http.get("/")
    assert time.monotonic() - started < 3


async def test_the_lanes_run_on_the_asyncio_backend() -> None:
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK)

    async with serving(answer_each) as (url, _):
        lanes = LaneTransport(2)
        async with httpx.AsyncClient(base_url=url, transport=lanes) as http:
            response = await http.get("/")
            assert response.text == "ok"
            assert type(response.extensions["network_stream"]).__module__ == "bot.sockets"


@pytest.mark.parametrize("how", ["closed", "reset"])
async def test_an_answer_cut_short_is_an_error_not_a_short_body(how: str) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        await writer.drain()
        if how == "reset":
            writer.transport.abort()  # an RST, not a FIN
        else:
            writer.close()

    async with serving(cut) as (url, _), client(url) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.get("/")


async def test_a_server_that_trickles_bytes_but_never_reads_still_times_the_write_out() -> None:
    # Each byte it sends wakes the waiting write: the deadline must not start over.
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(100):
            writer.write(b"x")
            await asyncio.sleep(0.05)

    async with serving(trickle) as (url, _), client(url, timeout=0.3) as http:
        started = time.monotonic()
        with pytest.raises(httpx.WriteTimeout):
            async with asyncio.timeout(4):
                await http.post("/", content=bytes(64 * 1024 * 1024))
    assert time.monotonic() - started < 2


async def test_an_address_that_never_answers_gives_way_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A listener whose one-place queue is full drops further SYNs: a black hole, on
    # loopback. The host resolves to it first (a broken IPv6 route), then to a server
    # on the same port at another address.
    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(OK)

    async with serving(answer_each) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        hole = socket.socket()
        hole.bind(("127.0.0.2", port))
        hole.listen(0)
        filler = socket.create_connection(hole.getsockname())
        try:

            async def resolve(host: str, _port: int, **_: object) -> list[tuple[object, ...]]:
                assert host == "dual.test"
                stream = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
                return [(*stream, ("127.0.0.2", port)), (*stream, ("127.0.0.1", port))]

            monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolve)
            monkeypatch.setattr(sockets, "NEXT_ADDRESS_SECONDS", 0.3)
            started = time.monotonic()
            async with client(f"http://dual.test:{port}", timeout=5.0) as http:
                assert (await http.get("/")).text == "ok"
            assert time.monotonic() - started < 2  # not the 5 s connect timeout
        finally:
            filler.close()
            hole.close()
