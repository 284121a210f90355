"""What the job service says to the rest of the bot. Discord-free.

The outcomes its callers word for users, the texts it stores as a job's error,
and `JobObserver`: the only way the service reaches Discord (the animate cog
implements it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from bot.domain import Job
from bot.metrics import DeliveryKind

log = logging.getLogger(__name__)

NO_VIDEO = "The video service finished but returned no video."
RESTARTED_WHILE_SENDING = (
    "The bot restarted while sending this job; it was not resent to avoid charging twice. "
    "Please try again."
)
# A stop cut the command off before its job was handed to RunComfy: nothing was sent.
STOPPED_BEFORE_SENDING = "The bot stopped before sending this job; nothing was sent."
# The model's schema changed between the job's checks and its submit: nothing was sent.
SCHEMA_CHANGED = "The model changed what it takes before this job was sent; nothing was sent."
RESULT_EXPIRED = "The video service no longer has this video; it expired before it was fetched."
# The video was made, but neither it nor its link reached Discord; `bot.failures` tells
# it by this sentence, which the link follows.
NOT_POSTED = "The video was made but could not be posted."
VIDEO_REFUSED = "The video service returned a link the bot does not open, so it is not shown."
# Ends "timed out": still queued (cancelled at RunComfy, unbilled), or still rendering
# at the hard cap (billed anyway); `bot.failures` tells the second by this sentence.
MAY_HAVE_BEEN_CHARGED = "It may have been charged."
QUEUE_TIMED_OUT = (
    "Still in the video service's queue after {waited}: cancelled there, so not charged."
)
STILL_RENDERING = (
    "The video service was still making it after {waited}, so the bot stopped waiting. "
    + MAY_HAVE_BEEN_CHARGED
)
# RunComfy said "cancelled" of a job seen rendering: a render that began is billed.
CANCELLED_WHILE_RENDERING = (
    "Cancelled at the video service after it began rendering. " + MAY_HAVE_BEEN_CHARGED
)
SERVICE_UNAVAILABLE = (
    "The video service is unavailable right now. The bot's operator has been told."
)


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # it was queued; RunComfy dropped it
    ALREADY_CANCELLED = "already_cancelled"  # someone else's cancel did it (or is doing it)
    RENDERING = "rendering"  # already running: will be delivered and billed
    NOT_YET = "not_yet"  # its send took over Submits.sent's wait (or none began); try again
    UNREACHABLE = "unreachable"  # RunComfy did not answer; nothing changed, try again
    FINISHED = "finished"  # already final
    NOT_ALLOWED = "not_allowed"  # neither the author nor a moderator
    UNKNOWN = "unknown"  # no such job


class LinkReason(StrEnum):
    """Why a finished video is posted as a link rather than uploaded."""

    TOO_LARGE = "too_large"  # over the upload limit, and re-encoding could not fit it
    DAMAGED = "damaged"  # the file from the video service is incomplete
    UNAVAILABLE = "unavailable"  # it could not be fetched (gone, an error, too slow)
    NOT_UPLOADED = "not_uploaded"  # posting the file failed unexpectedly (a bug, an odd answer)


class VideoStep(StrEnum):
    COMPRESSING = "compressing"  # re-encoding to fit the upload limit
    CONVERTING = "converting"  # re-encoding to a format Discord plays inline


@dataclass(frozen=True)
class ProgressNote:
    """Work between "done" and "delivered" worth showing on the status message."""

    step: VideoStep
    limit_bytes: int


class UploadRefused(Exception):
    """Discord refused the file as too large (413): its limit there is lower than the
    job's; the poster steps down once (`bot.jobs.posting`)."""


@dataclass(frozen=True)
class Delivery:
    """Where the video (or its link) was posted."""

    channel_id: int | None
    message_id: int | None
    kind: DeliveryKind = "upload"


class JobObserver(Protocol):
    """How the service reaches users; implemented by the animate cog."""

    async def job_updated(self, job: Job) -> None:
        """What the status message shows has (maybe) changed."""

    async def job_ended(self, job: Job) -> None:
        """The job ended without a video (cancelled, failed, timed out, lost): tell the author."""

    async def job_progress(self, job: Job, note: ProgressNote) -> None:
        """The finished video is being worked on before it is posted (say, compressed)."""

    def upload_limit(self, job: Job) -> int:
        """Largest file in bytes the job's destination accepts."""

    async def deliver(
        self, job: Job, video: Path | None, *, why: LinkReason | None = None
    ) -> Delivery | None:
        """Post the video (or, when `video` is None, its link and `why`) pinging the author.

        `why` says why there is only a link (too large, or it could not be fetched).
        Returns None when no place could be reached; the result then waits in /history.
        Raises UploadRefused when Discord refused the file as too large.
        """

    async def alert_operator(self, text: str) -> None:
        """Something only the operator can fix (balance, token)."""


async def guarded(call: Awaitable[None], what: str, job: Job) -> None:
    """Observer failures (Discord down) must not break the job's bookkeeping."""
    try:
        await call
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("Observer %s failed for job %s", what, job.id)
