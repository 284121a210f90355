"""A job in the reader's words: its state, options and durations, for any cog to show.

Pure functions of a job and a `Messages`; /history uses them, and they are meant to
replace the English-only helpers of `cogs/animate/rendering.py` when it is converted.
"""

from __future__ import annotations

from bot.domain import Job, JobStatus
from bot.i18n import Messages
from cogs.animate.rendering import STATE_LABELS, options_text

__all__ = ["duration_text", "options_text", "state_text", "state_words"]

ENDED_WITH_ERROR = (JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.LOST)


def duration_text(seconds: float | None, t: Messages) -> str:
    if seconds is None:
        return t("duration.unknown")
    minutes, secs = divmod(round(seconds), 60)
    if minutes:
        return t("duration.minutes", minutes=t.number(minutes), seconds=f"{secs:02d}")
    return t("duration.seconds", seconds=t.number(secs))


def state_words(status: JobStatus, t: Messages) -> str:
    return t(f"job.state.{status.value}")


def state_text(job: Job, t: Messages) -> str:
    """The state in words, with the queue position or what went wrong."""
    words = state_words(job.status, t)
    if job.status is JobStatus.IN_QUEUE and job.queue_position is not None:
        words = t("job.state.queue_position", position=t.number(job.queue_position))
    if job.error and job.status in ENDED_WITH_ERROR:
        words = t("job.state.with_error", state=words, error=job.error)
    return f"{STATE_LABELS[job.status][0]} {words}"
