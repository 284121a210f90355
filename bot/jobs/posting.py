"""A finished job's video, from RunComfy's CDN to the observer. Discord-free.

Download (capped, retried within one deadline) into this process's scratch
directory, probe, re-encode when Discord would not play it inline or it is over the
upload limit, then hand the file, or only its link and why, to the observer; when
Discord refuses the file as too large (413), once more under its next lower limit. It
writes nothing to the store: the sizes it learns come back on the job, and the
caller stores them with the delivery (one write on the way to the user, not three).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

import httpx

from bot.config import Settings
from bot.domain import Job
from bot.downloads import DownloadError, DownloadProblem, StallRule, cdn_client, download_to_file
from bot.jobs.contract import (
    Delivery,
    JobObserver,
    LinkReason,
    ProgressNote,
    UploadRefused,
    VideoStep,
    guarded,
)
from bot.scratch import ScratchDir
from bot.video import VideoUnreadable, VideoWorkers, plays_inline, probe

log = logging.getLogger(__name__)

DOWNLOAD_ATTEMPTS = 3
MIB = 1024 * 1024
# Discord's upload limits, largest first: what server boosts give, its default (20 MiB
# since September 2026) and the default before. A 413 steps down to the next one.
UPLOAD_LIMITS = (250 * MIB, 100 * MIB, 50 * MIB, 20 * MIB, 10 * MIB)
# What a failed download means for the author (a refused URL never reaches a link).
LINK_REASONS: dict[DownloadProblem, LinkReason] = {
    DownloadProblem.TOO_LARGE: LinkReason.TOO_LARGE,
    DownloadProblem.UNAVAILABLE: LinkReason.UNAVAILABLE,
}


def lower_limit(limit: int) -> int | None:
    """The next of Discord's upload limits below `limit`; None below the smallest."""
    return next((lower for lower in UPLOAD_LIMITS if lower < limit), None)


class VideoPoster:
    def __init__(self, settings: Settings, *, retry_delay: float) -> None:
        self.settings = settings
        # Its own client, made from the settings it checks addresses by: never the token.
        self.cdn_http = cdn_client(
            allow_private=settings.allow_private_urls,
            timeout=httpx.Timeout(settings.http_timeout_seconds, connect=10.0),
            stall=StallRule.of(settings),
        )
        self.retry_delay = retry_delay
        self.videos = VideoWorkers(settings.video_workers, settings.video_fit_timeout_seconds)
        self.scratch = ScratchDir()
        self._names = itertools.count(1)

    async def post(self, job: Job, observer: JobObserver) -> tuple[Job, Delivery | None]:
        """Fetch the video and hand it, or its link, to `observer`; the job with its sizes.

        Raises DownloadError for a URL that must be neither fetched nor shown.
        """
        assert job.video_url is not None and job.id is not None
        limit = min(observer.upload_limit(job), self.settings.max_video_bytes)
        path = self.scratch.path() / f"job-{job.id}-{next(self._names)}.mp4"
        fitted = path.with_name(f"{path.stem}-fitted.mp4")
        try:
            # Over the upload limit is fine here: the fit step below may compress it.
            problem = await self._download(job, path, self.settings.max_video_bytes)
            if problem is not None:
                return job, await observer.deliver(job, None, why=LINK_REASONS[problem])
            job = job.model_copy(update={"video_bytes": path.stat().st_size})
            job, video, why = await self._playable(job, path, fitted, limit, observer)
            try:
                return job, await observer.deliver(job, video, why=why)
            except UploadRefused:
                return await self._step_down(job, path, limit, observer)
        finally:
            path.unlink(missing_ok=True)
            fitted.unlink(missing_ok=True)

    async def _step_down(
        self, job: Job, path: Path, refused: int, observer: JobObserver
    ) -> tuple[Job, Delivery | None]:
        """Discord refused the file (413) under a limit it had given: once, the video
        under the next lower limit; else, or refused again, its link."""
        lower = lower_limit(refused)
        log.info("Job %d: upload refused under %d bytes; trying under %s", job.id, refused, lower)
        if lower is not None:
            job = job.model_copy(update={"upload_limit": lower})
            refitted = path.with_name(f"{path.stem}-{lower}.mp4")
            try:
                job, video, why = await self._playable(job, path, refitted, lower, observer)
                if video is not None:
                    try:
                        return job, await observer.deliver(job, video, why=why)
                    except UploadRefused:
                        log.info("Job %d: refused again under %d bytes", job.id, lower)
            finally:
                refitted.unlink(missing_ok=True)
        return job, await observer.deliver(job, None, why=LinkReason.TOO_LARGE)

    async def fetch(self, url: str, dest: Path, *, max_bytes: int) -> None:
        """A posted file streamed to `dest` (never whole in memory), within the download
        deadline; raises DownloadError (a deadline passed is UNAVAILABLE)."""
        try:
            async with asyncio.timeout(self.settings.video_download_timeout_seconds):
                await download_to_file(self.cdn_http, url, dest, max_bytes=max_bytes)
        except TimeoutError:
            raise DownloadError(DownloadProblem.UNAVAILABLE, "deadline passed") from None

    async def aclose(self) -> None:
        await self.cdn_http.aclose()
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        """Stop the encoders and remove the scratch directory (blocking)."""
        self.videos.close()
        self.scratch.remove()

    async def _playable(
        self, job: Job, path: Path, fitted: Path, limit: int, observer: JobObserver
    ) -> tuple[Job, Path | None, LinkReason | None]:
        """The file to upload (as it came, or re-encoded to play inline under `limit`).

        None and the reason when only a link can get the video to the author.
        """
        size = job.video_bytes or 0
        try:
            facts = await asyncio.to_thread(probe, path)
        except VideoUnreadable as exc:
            # Nothing we can judge or improve: as it came when it fits, it may still play.
            log.warning("Job %d: the video could not be probed (%s)", job.id, exc)
            return (job, path, None) if size <= limit else (job, None, LinkReason.TOO_LARGE)
        if plays_inline(facts) and size <= limit:
            return job, path, None
        if not facts.complete:
            log.warning("Job %d: the video from RunComfy is incomplete (%d bytes)", job.id, size)
            return job, None, LinkReason.DAMAGED
        step = VideoStep.COMPRESSING if size > limit else VideoStep.CONVERTING
        await guarded(observer.job_progress(job, ProgressNote(step, limit)), "progress", job)
        result = await self.videos.fit(path, fitted, limit)
        if result.ok:
            log.info(
                "Job %d: re-encoded %s %dx%d, %d -> %d bytes (limit %d)",
                job.id, facts.video_codec, result.width, result.height, size, result.size_bytes,
                limit,
            )  # fmt: skip
            return job.model_copy(update={"posted_video_bytes": result.size_bytes}), fitted, None
        log.info("Job %d: could not re-encode under %d bytes (%s)", job.id, limit, result.failure)
        if size <= limit:
            return job, path, None  # it fits as it is, it just will not play inline
        return job, None, LinkReason.TOO_LARGE

    async def _download(self, job: Job, path: Path, limit: int) -> DownloadProblem | None:
        """Fetch the video, retrying CDN hiccups, all within one deadline.

        None when the video is in `path`; else why the link is posted instead.
        Raises DownloadError for a URL that must be neither fetched nor shown.
        """
        assert job.video_url is not None
        try:
            async with asyncio.timeout(self.settings.video_download_timeout_seconds):
                for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
                    try:
                        await download_to_file(self.cdn_http, job.video_url, path, max_bytes=limit)
                        return None
                    except DownloadError as exc:
                        if exc.reason is DownloadProblem.REFUSED:
                            raise
                        if exc.reason is DownloadProblem.TOO_LARGE or attempt == DOWNLOAD_ATTEMPTS:
                            log.info("Job %d: posting a link (%s)", job.id, exc)
                            return exc.reason
                    except OSError as exc:
                        # Our own disk (full, gone): trying again here would fail alike,
                        # and the link still gets the video to its author.
                        log.error(
                            "Job %d: the video could not be written here (%s); posting a link",
                            job.id,
                            exc,
                        )
                        return DownloadProblem.UNAVAILABLE
                    await asyncio.sleep(self.retry_delay * attempt)
        except TimeoutError:
            log.warning(
                "Job %d: video download passed its %.0f s deadline; posting a link",
                job.id,
                self.settings.video_download_timeout_seconds,
            )
        return DownloadProblem.UNAVAILABLE
