"""Jobs after the cog has validated them: admitted, sent, tracked, posted, resumed.

`service` holds `JobService`, the facade the cogs and the composition root use. Its
parts, each over `transitions` (final states, the observer, metrics, alerts):
`submit` (admission and the one send), `tracking` (one task per live job, kept
alive) running `poll_loop` (a job followed to its end), `delivery` (the
result to Discord, through `posting`), `cancel`, `leases` (resume; several
processes). `contract` is what the service tells the rest of the bot (outcomes, and
`JobObserver`, its only way to Discord); the quota types live in `bot.quotas`.
"""

from bot.jobs.contract import (
    MAY_HAVE_BEEN_CHARGED,
    NO_VIDEO,
    NOT_POSTED,
    SERVICE_UNAVAILABLE,
    CancelOutcome,
    Delivery,
    JobObserver,
    LinkReason,
    ProgressNote,
    UploadRefused,
    VideoStep,
)
from bot.jobs.delivery import RESULT_ATTEMPTS
from bot.jobs.poll_loop import POLL_COST_FRACTION
from bot.jobs.service import JobService

__all__ = [
    "MAY_HAVE_BEEN_CHARGED",
    "NOT_POSTED",
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
    "UploadRefused",
    "VideoStep",
]
