"""Fetching result videos: only http(s), only public addresses, redirects re-checked.

RunComfy's output URLs are public CDN links fetched without the token. A result
URL is still data from outside: a `file://` or `data:` URL, a redirect to one,
or a host that resolves into the operator's own network must never be fetched
(or shown to users) on a stranger's behalf.

DNS rebinding: the check sits in the connection itself (`cdn_client`'s network
backend): the host name is resolved once per connection, every address is
checked, and the socket goes to a checked address. URLs keep their names, so TLS
verifies certificates against them and a pooled connection serves only its own
name: a video reuses the connection of the one before (no handshake per video).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bot.sockets import AsyncioBackend, resolve, transport_on

log = logging.getLogger(__name__)

FETCHABLE_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK_BYTES = 256 * 1024
# CDN connections kept open between videos: completions come in bursts.
KEEPALIVE_SECONDS = 30.0


class DownloadProblem(StrEnum):
    """Why a video is not in the file; decides what users are told."""

    REFUSED = "refused"  # not http(s), or a private address: neither fetched nor shown
    TOO_LARGE = "too_large"  # bigger than the destination accepts
    UNAVAILABLE = "unavailable"  # HTTP error, network error, deadline: the link may work


class DownloadError(Exception):
    def __init__(self, reason: DownloadProblem, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason


def is_fetchable_url(url: object) -> bool:
    """An http(s) URL with a host: the only kind fetched, followed or shown to users."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in FETCHABLE_SCHEMES and bool(host)


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def cdn_client(*, allow_private: bool, timeout: httpx.Timeout | float) -> httpx.AsyncClient:
    """The client for result videos: no token, no proxy, only checked addresses.

    `allow_private`: also connect to private and loopback addresses (tests, a local CDN).
    The environment's proxy is not used: a proxy would connect where it likes.
    """
    return httpx.AsyncClient(
        timeout=timeout,
        trust_env=False,
        transport=transport_on(
            _CheckedBackend(allow_private=allow_private),
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        ),
    )


class _CheckedBackend(AsyncioBackend):
    """Connects to checked addresses only; no Unix sockets."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def addresses(self, host: str, port: int) -> list[str]:
        return await checked_addresses(host, port, allow_private=self._allow_private)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DownloadError(DownloadProblem.REFUSED, "not a network address")


async def download_to_file(http: httpx.AsyncClient, url: str, dest: Path, *, max_bytes: int) -> int:
    """Stream `url` into `dest`, never holding it in memory; returns its size.

    `http` comes from `cdn_client`, which checks every address it connects to.
    Redirects are followed by hand, and every hop must be http(s) like the first URL.
    Raises DownloadError; `dest` is removed on any failure.
    """
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            target = _sendable(url)
            async with http.stream("GET", target, follow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.status_code in REDIRECT_STATUSES and location:
                    url = urljoin(url, location)
                    continue
                if response.status_code != 200:
                    raise DownloadError(DownloadProblem.UNAVAILABLE, f"HTTP {response.status_code}")
                return await _save(response, dest, max_bytes)
        raise DownloadError(DownloadProblem.UNAVAILABLE, "too many redirects")
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        raise DownloadError(DownloadProblem.UNAVAILABLE, type(exc).__name__) from exc
    except BaseException:
        # DownloadError, and a deadline (cancellation) cutting the download short.
        dest.unlink(missing_ok=True)
        raise


def _sendable(url: str) -> str:
    """`url` if it may be fetched, without its userinfo (user:pass@ is never sent on)."""
    if not is_fetchable_url(url):
        raise DownloadError(DownloadProblem.REFUSED, "not an http(s) URL")
    parts = urlsplit(url.strip())
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(scheme=parts.scheme.lower(), netloc=netloc).geturl()


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of `host` to connect to, every one of them checked."""
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise DownloadError(DownloadProblem.UNAVAILABLE, f"cannot resolve {host}") from exc
    if not addresses:
        raise DownloadError(DownloadProblem.UNAVAILABLE, f"no address for {host}")
    if not allow_private:
        private = [a for a in addresses if not is_public_address(a)]
        if private:
            # Every address is checked: one public answer must not hide a private one.
            raise DownloadError(DownloadProblem.REFUSED, f"{host} resolves to {private[0]}")
    return addresses


async def _save(response: httpx.Response, dest: Path, max_bytes: int) -> int:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(DownloadProblem.TOO_LARGE, f"{declared} bytes")
    written = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes(CHUNK_BYTES):
            written += len(chunk)
            if written > max_bytes:
                raise DownloadError(DownloadProblem.TOO_LARGE, f"over {max_bytes} bytes")
            out.write(chunk)
    return written
