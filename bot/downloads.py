"""Fetching result videos: only http(s), redirects re-checked, streamed to a file.

A result URL is data from outside: a `file://` or `data:` URL, or a redirect to one,
is never fetched nor shown to users. Where a host may connect is checked by the
video client itself (bot/cdn.py), at every connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bot.cdn import AddressRefused, Resolver, checked_transport, is_public_address, resolve
from bot.config import VIDEO_STALL_BYTES, VIDEO_STALL_SECONDS, Settings

log = logging.getLogger(__name__)

FETCHABLE_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# How a page starts (HTML, XML, JSON): what a CDN answers instead of the file when a link
# expired or needs a sign-in, with 200. No video format starts so.
PAGE_STARTS = (b"<", b"{", b"[")

__all__ = [
    "DownloadError",
    "DownloadProblem",
    "StallRule",
    "VideoClient",
    "cdn_client",
    "download_to_file",
    "is_fetchable_url",
    "is_public_address",
]


class DownloadProblem(StrEnum):
    """Why a video is not in the file; decides what users are told."""

    REFUSED = "refused"  # not http(s), or a private address: neither fetched nor shown
    TOO_LARGE = "too_large"  # bigger than the destination accepts
    UNAVAILABLE = "unavailable"  # HTTP error, network error, deadline: the link may work


class DownloadError(Exception):
    def __init__(self, reason: DownloadProblem, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StallRule:
    """A try has stalled when `min_bytes` take longer than `window_seconds` to arrive."""

    window_seconds: float = VIDEO_STALL_SECONDS
    min_bytes: int = VIDEO_STALL_BYTES

    @classmethod
    def of(cls, settings: Settings) -> StallRule:
        return cls(settings.video_download_stall_seconds, settings.video_download_stall_bytes)


class VideoClient(httpx.AsyncClient):
    """httpx's client, checking every address, with the stall rule of its downloads."""

    def __init__(self, *, stall: StallRule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stall = stall


def cdn_client(
    *,
    allow_private: bool,
    timeout: httpx.Timeout | float,
    stall: StallRule | None = None,
    verify: ssl.SSLContext | bool = True,
    resolver: Resolver = resolve,
) -> VideoClient:
    """The client for result videos: no token, no proxy, only checked addresses.

    `allow_private`: also connect to private and loopback addresses (tests, a local CDN).
    The environment's proxy is not used: a proxy would connect where it likes.
    """
    return VideoClient(
        stall=stall or StallRule(),
        timeout=timeout,
        trust_env=False,
        transport=checked_transport(allow_private=allow_private, verify=verify, resolver=resolver),
    )


def is_fetchable_url(url: object) -> bool:
    """An http(s) URL with a host: the only kind fetched, followed or shown to users.
    Never one with a space or a line break inside (a real URL encodes them): shown in a
    message, what follows would read as the bot's own words."""
    if not isinstance(url, str):
        return False
    if any(char.isspace() or not char.isprintable() for char in url.strip()):
        return False
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in FETCHABLE_SCHEMES and bool(host)


async def download_to_file(http: VideoClient, url: str, dest: Path, *, max_bytes: int) -> int:
    """Stream `url` into `dest`, never holding it in memory; returns its size.

    `http` comes from `cdn_client`, which checks every address it connects to.
    Redirects are followed by hand, and every hop must be http(s) like the first URL.
    A body that stalls (`http.stall`) ends the try. Raises DownloadError; `dest` is
    removed on any failure.
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
                return await _save(response, dest, max_bytes, http.stall)
        raise DownloadError(DownloadProblem.UNAVAILABLE, "too many redirects")
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        raise DownloadError(DownloadProblem.UNAVAILABLE, type(exc).__name__) from exc
    except AddressRefused as exc:
        dest.unlink(missing_ok=True)
        raise DownloadError(DownloadProblem.REFUSED, str(exc)) from exc
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


async def _save(response: httpx.Response, dest: Path, max_bytes: int, stall: StallRule) -> int:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(DownloadProblem.TOO_LARGE, f"{declared} bytes")
    loop = asyncio.get_running_loop()
    written = counted = 0  # `counted`: the bytes already credited to a window
    try:
        # One timer for the whole body, pushed back each time a window's bytes are in.
        async with asyncio.timeout(stall.window_seconds) as window:
            with dest.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    if not written and chunk.lstrip()[:1] in PAGE_STARTS:
                        raise DownloadError(DownloadProblem.UNAVAILABLE, "a page, not a video")
                    written += len(chunk)
                    if written > max_bytes:
                        raise DownloadError(DownloadProblem.TOO_LARGE, f"over {max_bytes} bytes")
                    out.write(chunk)
                    if written - counted >= stall.min_bytes:
                        counted = written
                        window.reschedule(loop.time() + stall.window_seconds)
    except TimeoutError:
        raise DownloadError(
            DownloadProblem.UNAVAILABLE,
            f"stalled: under {stall.min_bytes} bytes in {stall.window_seconds:g} s",
        ) from None
    if not written:
        raise DownloadError(DownloadProblem.UNAVAILABLE, "an empty answer, not a video")
    return written
