"""What kind of failure ended a job, for a kind sentence; and the service's own words. Discord-free.

The stored `error` is for the operator: one of the bot's own English sentences, or
the video service's raw words, or both ("The video service refused the request:
<its words>"). Users read a catalog sentence chosen by the kind derived here from the
final status and that stored error, so no column is needed and jobs stored before
this existed get a kind too. The service's words, when there are any, are shown
only to the job's author, quoted, as a detail (`service_words`).
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.domain import Job, JobStatus
from bot.jobs.contract import (
    MAY_HAVE_BEEN_CHARGED,
    NO_VIDEO,
    NOT_POSTED,
    RESULT_EXPIRED,
    SCHEMA_CHANGED,
    SERVICE_UNAVAILABLE,
    STOPPED_BEFORE_SENDING,
    VIDEO_REFUSED,
)

# Why the cog gave a job up before sending it (JobService.abandon): nothing was sent.
STATUS_FAILED_ERROR = "The status message could not be posted."
HOSTED_TOO_LARGE_ERROR = "The resized image is too large to upload here."

# The service's own words for a refused prompt or image (moderation, policy).
_CONTENT = re.compile(
    r"sensitive|moderat|policy|safety|nsfw|inappropriate|prohibited|violat|content", re.I
)
# ...and for an image it could not open or fetch.
_IMAGE = re.compile(r"image|decode|download|fetch|url|format|dimension|width|height", re.I)
_UNAVAILABLE = re.compile(r"unavailable|not answering|try again later|overload|busy", re.I)
# How bot/runcomfy words a refused request around what the service said.
_REFUSED = re.compile(r"^The video service refused the request: (?P<words>.+)$", re.S)
# How the bot's own stored sentences begin (bot/jobs, bot/runcomfy, the abandons above).
_OURS = re.compile(
    r"^(The video service |The bot |No video after |Cancelled at the video service"
    r"|The status message |The resized image )"
)
_NO_VIDEO = frozenset({NO_VIDEO, RESULT_EXPIRED, VIDEO_REFUSED})
_NOT_STARTED = frozenset(
    {STATUS_FAILED_ERROR, HOSTED_TOO_LARGE_ERROR, STOPPED_BEFORE_SENDING, SCHEMA_CHANGED}
)


class FailureKind(StrEnum):
    CONTENT_REFUSED = "content_refused"
    SERVICE_UNAVAILABLE = "service_unavailable"
    TOOK_TOO_LONG = "took_too_long"
    STILL_RENDERING = "still_rendering"  # given up at the render's hard cap: maybe billed
    IMAGE_UNREADABLE = "image_unreadable"
    NO_VIDEO = "no_video"
    NOT_POSTED = "not_posted"  # made, but neither the video nor its link reached Discord
    LOST = "lost"  # the bot lost track of it (restart while sending, unconfirmed send)
    NOT_STARTED = "not_started"  # given up before it was sent (the author was told)
    OTHER = "other"


def service_words(job: Job) -> str | None:
    """What the video service itself said about a failure; None when it said nothing."""
    error = (job.error or "").strip()
    refused = _REFUSED.match(error)
    if refused is not None:
        return refused["words"].strip() or None
    if not error or _OURS.match(error):
        return None
    return error


def failure_kind(job: Job) -> FailureKind | None:
    """The kind of an ended-without-video job; None for jobs that did not fail."""
    if job.status is JobStatus.TIMED_OUT:
        if MAY_HAVE_BEEN_CHARGED in (job.error or ""):
            return FailureKind.STILL_RENDERING
        return FailureKind.TOOK_TOO_LONG
    if job.status is JobStatus.LOST:
        return FailureKind.LOST
    if job.status is not JobStatus.FAILED:
        return None
    error = job.error or ""
    if error.startswith(NOT_POSTED):  # before the patterns: its link may hold any word
        return FailureKind.NOT_POSTED
    if error == SERVICE_UNAVAILABLE or _UNAVAILABLE.search(error):
        return FailureKind.SERVICE_UNAVAILABLE
    if error in _NO_VIDEO:
        return FailureKind.NO_VIDEO
    if error in _NOT_STARTED:
        return FailureKind.NOT_STARTED
    words = service_words(job) or ""
    if _CONTENT.search(words):
        return FailureKind.CONTENT_REFUSED
    if _IMAGE.search(words):
        return FailureKind.IMAGE_UNREADABLE
    return FailureKind.OTHER
