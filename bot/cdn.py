"""The video client: only public addresses, every resolved address checked, at connect.

RunComfy's output URLs are public CDN links fetched without the token, but a result
URL is still data from outside: a host that resolves into the operator's own network
must never be fetched on a stranger's behalf.

DNS rebinding: the check sits in the connection itself, in httpcore's public
network-backend interface. The host name is resolved once per connection, every
address is checked, and the socket goes to a checked address. URLs keep their names,
so TLS verifies certificates against them (httpcore hands the origin's name to
`start_tls`) and a pooled connection serves only its own name.

httpx takes no network backend, so the client's transport is our own
`httpx.AsyncBaseTransport` over an `httpcore.AsyncConnectionPool`: public classes
on both sides, no private attribute of either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

# Each address of a host but the last gets this long to connect before the next one
# is tried: a black-holed IPv6 route must not cost a whole connect timeout.
NEXT_ADDRESS_SECONDS = 2.0
# CDN connections kept open between videos: completions come in bursts.
KEEPALIVE_SECONDS = 30.0

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: a packet sent there
# reaches that IPv4 address (through a translator or the host's own stack).
IPV4_IN_LAST_32_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # SIIT, IPv4-translated
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
)

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(Exception):
    """The URL's host is not a public network address: nothing was connected to."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (NAT64, 6to4, SIIT...), if any."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    for prefix in IPV4_IN_LAST_32_BITS:
        if ip in prefix:
            return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, site-local, multicast, reserved and
    unspecified addresses, and for IPv6 addresses that embed one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            ip = inner  # 64:ff9b::7f00:1 is 127.0.0.1 too
        elif ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order; an IP address is its own."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's AnyIO backend, connecting only to addresses it resolved and checked."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = resolve) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._inner = httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int) -> list[str]:
        """Where a connection to `host` may go, every address checked."""
        try:
            addresses = await self._resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"no address for {host}")
        if not self._allow_private:
            private = [a for a in addresses if not is_public_address(a)]
            if private:
                # Every address is checked: one public answer must not hide a private one.
                raise AddressRefused(f"{host} resolves to {private[0]}")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await self.addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host}") from exc
        for index, address in enumerate(addresses):
            left = None if deadline is None else max(0.0, deadline - loop.time())
            last = index == len(addresses) - 1
            if not last:
                left = NEXT_ADDRESS_SECONDS if left is None else min(left, NEXT_ADDRESS_SECONDS)
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=left,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if last:
                    raise
        raise AssertionError("unreachable: addresses() returns at least one")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore's exceptions and httpx's, most specific first (both public).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """httpcore's exceptions become httpx's, as httpx's own transport does."""
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc), request=request) from exc
        raise


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore connection pool built by the caller."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            answer = await self.pool.handle_async_request(core_request)
        assert isinstance(answer.stream, AsyncIterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, request),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


class _Body(httpx.AsyncByteStream):
    """httpcore's answer body, its errors as httpx's."""

    def __init__(self, inner: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for part in self._inner:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            with _as_httpx_errors(self._request):
                await close()


def checked_transport(
    *, allow_private: bool, verify: ssl.SSLContext | bool = True, resolver: Resolver = resolve
) -> PoolTransport:
    """A transport whose connections go only to checked addresses, kept alive between videos.

    `allow_private`: also connect to private and loopback addresses (tests, a local CDN).
    """
    tls = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
    pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        keepalive_expiry=KEEPALIVE_SECONDS,
        network_backend=CheckedBackend(allow_private=allow_private, resolver=resolver),
    )
    return PoolTransport(pool)
