"""Fetching result videos: only http(s), only public addresses, redirects re-checked.

RunComfy's output URLs are public CDN links fetched without the token. A result
URL is still data from outside: a `file://` or `data:` URL, a redirect to one,
or a host that resolves into the operator's own network must never be fetched
(or shown to users) on a stranger's behalf.

DNS rebinding: the host name is resolved once, every address is checked, and
the connection goes to the checked address (the URL is rewritten to it; the Host
header and the TLS server name keep the original name, so certificates are still
verified against it). httpx never resolves the name a second time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

log = logging.getLogger(__name__)

FETCHABLE_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK_BYTES = 256 * 1024


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


async def download_to_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    allow_private: bool = False,
) -> int:
    """Stream `url` into `dest`, never holding it in memory; returns its size.

    Redirects are followed by hand, and every hop is checked like the first URL.
    `http` must not carry the RunComfy token: output URLs are public CDN URLs.
    Raises DownloadError; `dest` is removed on any failure.
    """
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            target, options = await _pinned(url, allow_private=allow_private)
            async with http.stream("GET", target, follow_redirects=False, **options) as response:
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


async def _pinned(url: str, *, allow_private: bool) -> tuple[str, dict[str, Any]]:
    """`url` rewritten to a checked address, with the request options that keep its name."""
    if not is_fetchable_url(url):
        raise DownloadError(DownloadProblem.REFUSED, "not an http(s) URL")
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    address = await _checked_address(host, port, allow_private=allow_private)
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    options: dict[str, Any] = {
        # The name the server knows; userinfo (user:pass@) is never sent on.
        "headers": {"Host": parts.netloc.rpartition("@")[2], "Connection": "close"},
        # TLS: send and verify the original name, not the address.
        "extensions": {"sni_hostname": host} if https else {},
    }
    return parts._replace(scheme=parts.scheme.lower(), netloc=netloc).geturl(), options


async def _checked_address(host: str, port: int, *, allow_private: bool) -> str:
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise DownloadError(DownloadProblem.UNAVAILABLE, f"cannot resolve {host}") from exc
        addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DownloadError(DownloadProblem.UNAVAILABLE, f"no address for {host}")
    if not allow_private:
        private = [a for a in addresses if not is_public_address(a)]
        if private:
            # Every address is checked: one public answer must not hide a private one.
            raise DownloadError(DownloadProblem.REFUSED, f"{host} resolves to {private[0]}")
    return addresses[0]


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
