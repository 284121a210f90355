"""Jobs after the cog has validated them: admitted, sent, tracked, posted, resumed.

`service` holds `JobService`, which owns every job's life; `posting` takes a finished
video from RunComfy's CDN to the observer; `contract` is what the service tells the
rest of the bot (outcomes, refusals, and `JobObserver`, its only way to Discord).
"""

from bot.jobs.contract import (
    NO_VIDEO,
    SERVICE_UNAVAILABLE,
    CancelOutcome,
    Delivery,
    JobObserver,
    LinkReason,
    ProgressNote,
    QuotaExceeded,
    QuotaKind,
    VideoStep,
)
from bot.jobs.service import DAY, POLL_COST_FRACTION, RESULT_ATTEMPTS, JobService

__all__ = [
    "DAY",
    "NO_VIDEO",
    "POLL_COST_FRACTION",
    "RESULT_ATTEMPTS",
    "SERVICE_UNAVAILABLE",
    "CancelOutcome",
    "Delivery",
    "JobObserver",
    "JobService",
    "LinkReason",
    "ProgressNote",
    "QuotaExceeded",
    "QuotaKind",
    "VideoStep",
]
