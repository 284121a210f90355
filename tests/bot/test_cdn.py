"""The video client (bot/cdn.py): every address checked at connect, then plain httpx.

Servers are real asyncio servers on 127.0.0.1 speaking just enough HTTP/1.1; host
names resolve through a resolver the test hands the client, so no test depends on
the machine's DNS, and nothing is ever sent beyond loopback.
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

from bot import cdn
from bot.cdn import AddressRefused, CheckedBackend, is_public_address
from bot.downloads import cdn_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@asynccontextmanager
async def serving(
    handler: Handler, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[tuple[int, list[tuple[str, int]]]]:
    """A loopback server; yields its port and the client addresses it accepted."""
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

    server = await asyncio.start_server(accept, host, 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1], peers
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


async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await read_request(reader)
        writer.write(OK)


def resolving(table: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver answering from `table`; each call is recorded under `asked`."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return list(table[host])

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


# -- which addresses are public (issue 27 #15) ---------------------------------------

EMBEDDED_PRIVATE = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "::ffff:0:7f00:1",  # SIIT (IPv4-translated) 127.0.0.1
    "::ffff:0:a9fe:a9fe",  # SIIT 169.254.169.254
    "::ffff:127.0.0.1",  # IPv4-mapped 127.0.0.1
]
SITE_LOCAL = ["fec0::1", "fec0:1:2::3", "feff::1"]


@pytest.mark.parametrize(
    ("address", "public"),
    [(a, False) for a in EMBEDDED_PRIVATE + SITE_LOCAL]
    + [
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8: what DNS64 answers for a CDN
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("::ffff:8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("8.8.8.8", True),
    ],
)
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_and_site_local_is_refused(
    address: str, public: bool
) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE + SITE_LOCAL)
async def test_a_host_resolving_to_a_wrapped_private_address_is_refused(address: str) -> None:
    # Resolved and judged only: nothing connects (the addresses are not loopback's).
    backend = CheckedBackend(allow_private=False, resolver=resolving({"cdn.test": [address]}))
    with pytest.raises(AddressRefused):
        await backend.addresses("cdn.test", 443)


# -- the check sits in the connection ------------------------------------------------


async def test_every_resolved_address_is_checked_not_only_the_first() -> None:
    resolver = resolving({"cdn.test": ["8.8.8.8", "127.0.0.1"]})
    backend = CheckedBackend(allow_private=False, resolver=resolver)
    with pytest.raises(AddressRefused):
        await backend.addresses("cdn.test", 443)


async def test_each_connection_resolves_again_and_connects_where_it_checked() -> None:
    # DNS rebinding: a second connection to the same name is checked anew; a public
    # answer then a private one never gets the private one a socket.
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")

    async with serving(answer_once) as (port, peers):
        answers = {"cdn.test": ["127.0.0.1"]}
        resolver = resolving(answers)
        async with cdn_client(allow_private=True, timeout=2.0, resolver=resolver) as http:
            assert (await http.get(f"http://cdn.test:{port}/v.mp4")).text == "ok"
            assert (await http.get(f"http://cdn.test:{port}/v.mp4")).text == "ok"
        assert resolver.asked == ["cdn.test", "cdn.test"]  # type: ignore[attr-defined]
        assert len(peers) == 2

        strict = resolving({"cdn.test": ["127.0.0.1"]})
        async with cdn_client(allow_private=False, timeout=2.0, resolver=strict) as http:
            with pytest.raises(AddressRefused):
                await http.get(f"http://cdn.test:{port}/v.mp4")
        assert len(peers) == 2  # refused before any connection


async def test_a_kept_alive_connection_carries_the_next_video() -> None:
    async with serving(answer_each) as (port, peers):
        resolver = resolving({"cdn.test": ["127.0.0.1"]})
        async with cdn_client(allow_private=True, timeout=2.0, resolver=resolver) as http:
            for _ in range(3):
                assert (await http.get(f"http://cdn.test:{port}/")).text == "ok"
    assert len(peers) == 1


async def test_no_unix_socket_is_ever_connected() -> None:
    backend = CheckedBackend(allow_private=True)
    with pytest.raises(AddressRefused):
        await backend.connect_unix_socket("/var/run/docker.sock")


async def test_an_address_that_never_answers_gives_way_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A listener whose one-place queue is full drops further SYNs: a black hole, on
    # loopback. The host resolves to it first (a broken IPv6 route), then to a server.
    async with serving(answer_each) as (port, _):
        hole = socket.socket()
        hole.bind(("127.0.0.2", port))
        hole.listen(0)
        filler = socket.create_connection(hole.getsockname())
        try:
            monkeypatch.setattr(cdn, "NEXT_ADDRESS_SECONDS", 0.3)
            resolver = resolving({"dual.test": ["127.0.0.2", "127.0.0.1"]})
            started = time.monotonic()
            async with cdn_client(allow_private=True, timeout=5.0, resolver=resolver) as http:
                assert (await http.get(f"http://dual.test:{port}/")).text == "ok"
            assert time.monotonic() - started < 2  # not the 5 s connect timeout
        finally:
            filler.close()
            hole.close()


# -- errors are httpx's, as with httpx's own transport --------------------------------


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(read_request) as (port, _):
        pass  # closed: nothing listens there any more
    async with cdn_client(allow_private=True, timeout=2.0) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with cdn_client(allow_private=False, timeout=2.0, resolver=nowhere) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://cdn.test/v.mp4")


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with (
        serving(never_answer) as (port, _),
        cdn_client(allow_private=True, timeout=0.3) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{port}/")


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

    async with serving(cut) as (port, _), cdn_client(allow_private=True, timeout=2.0) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_cancelled_download_leaves_nothing_open() -> None:
    # pytest turns an unclosed socket's ResourceWarning into a failure.
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with serving(slow) as (port, _), cdn_client(allow_private=True, timeout=5.0) as http:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await http.get(f"http://127.0.0.1:{port}/")


# -- TLS verifies the URL's name, at the checked address -------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server(authority: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def tls_client(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


async def test_https_verifies_the_urls_name_at_the_checked_address(
    authority: trustme.CA,
) -> None:
    resolver = resolving({"videos.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    tls = tls_client(authority)
    async with (
        serving(answer_each, tls_server(authority, "videos.test")) as (port, peers),
        cdn_client(allow_private=True, timeout=2.0, verify=tls, resolver=resolver) as http,
    ):
        for _ in range(2):
            response = await http.get(f"https://videos.test:{port}/v.mp4")
            assert response.text == "ok"
        with pytest.raises(httpx.ConnectError):  # same address, a name it has no cert for
            await http.get(f"https://other.test:{port}/v.mp4")
    assert len(peers) == 1  # one kept for videos.test; other.test's handshake failed


async def test_a_stalled_handshake_is_a_connect_timeout(authority: trustme.CA) -> None:
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    resolver = resolving({"videos.test": ["127.0.0.1"]})
    async with (
        serving(say_nothing) as (port, _),
        cdn_client(
            allow_private=True, timeout=0.3, verify=tls_client(authority), resolver=resolver
        ) as http,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            await http.get(f"https://videos.test:{port}/")
    assert time.monotonic() - started < 3
