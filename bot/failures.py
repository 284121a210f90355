"""What kind of failure ended a job, for a kind public sentence. Discord-free.

The stored `error` is for the operator and for the author's /history details: it
may be the video service's raw words. The public status message shows only the
kind, derived here from the final status and that stored error, so no column is
needed and jobs stored before this existed get a kind too.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.domain import Job, JobStatus
from bot.jobs import MAY_HAVE_BEEN_CHARGED, NO_VIDEO, NOT_POSTED, SERVICE_UNAVAILABLE

# The service's own words for a refused prompt or image (moderation, policy).
_CONTENT = re.compile(
    r"sensitive|moderat|policy|safety|nsfw|inappropriate|prohibited|violat|content", re.I
)
# ...and for an image it could not open or fetch.
_IMAGE = re.compile(r"image|decode|download|fetch|url|format|dimension|width|height", re.I)
_UNAVAILABLE = re.compile(r"unavailable|not answering|try again later|overload|busy", re.I)


class FailureKind(StrEnum):
    CONTENT_REFUSED = "content_refused"
    SERVICE_UNAVAILABLE = "service_unavailable"
    TOOK_TOO_LONG = "took_too_long"
    STILL_RENDERING = "still_rendering"  # given up at the render's hard cap: maybe billed
    IMAGE_UNREADABLE = "image_unreadable"
    NO_VIDEO = "no_video"
    NOT_POSTED = "not_posted"  # made, but neither the video nor its link reached Discord
    LOST = "lost"  # the bot lost track of it (restart while sending, unconfirmed send)
    OTHER = "other"


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
    if error == NO_VIDEO:
        return FailureKind.NO_VIDEO

    if _CONTENT.search(error):
        return FailureKind.CONTENT_REFUSED
    if _IMAGE.search(error):
        return FailureKind.IMAGE_UNREADABLE
    return FailureKind.OTHER
