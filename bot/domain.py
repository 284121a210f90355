"""The domain: a job, its options and its states. Pure data, no I/O.

A job's options are whatever its model's schema takes (`bot.models` reads them): a
mapping of schema field to value, kept as chosen and sent as such.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | bool
Options = dict[str, Scalar]  # schema field -> value


class JobStatus(StrEnum):
    SUBMITTING = "submitting"
    IN_QUEUE = "in_queue"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        JobStatus.DELIVERED,
        JobStatus.CANCELLED,
        JobStatus.FAILED,
        JobStatus.TIMED_OUT,
        JobStatus.LOST,
    }
)
ACTIVE_STATUSES = frozenset(set(JobStatus) - FINAL_STATUSES)


class Reach(StrEnum):
    """How the bot reaches the place a job was started in, after its command's token."""

    # A member there (a server that added it, or its own DM): its channel routes, its
    # reactions and the gateway's events all work.
    CHANNEL = "channel"
    # The command's interaction token alone (its user install in a server that never
    # added it, a group DM): no channel route, no reaction, five followups, 15 minutes.
    TOKEN = "token"


class Visibility(StrEnum):
    """Who sees a job's status and video where it was started."""

    PUBLIC = "public"
    PRIVATE = "private"  # its author asked (`private:true`, or their default)
    # The server denies external apps: Discord makes every answer ephemeral.
    FORCED_PRIVATE = "forced_private"

    @property
    def private(self) -> bool:
        return self is not Visibility.PUBLIC


def is_charged(status: JobStatus, request_id: str | None) -> bool:
    """Whether a job counts as costing money: the one definition of "charged".

    Not charged: a job cancelled while queued (RunComfy dropped it; every
    `cancelled` job ended that way), and a job that failed before the video
    service accepted it (`failed` without a request id: refused at submit, or
    abandoned before it was sent). Everything else counts, spend-safe: an active
    job (it may yet be charged), an ambiguous submit (`lost`, the service may have
    accepted it), a time-out (it may have rendered) and a failure after acceptance.
    The daily quota counts charged jobs; `bot.store.schema.CHARGED_SQL` is this in SQL.
    """
    if status is JobStatus.CANCELLED:
        return False
    return not (status is JobStatus.FAILED and request_id is None)


class ImageFacts(BaseModel):
    """The input image as the bot saw it (after fitting, if it was fitted)."""

    model_config = ConfigDict(frozen=True)

    filename: str
    format: str
    width: int
    height: int
    size_bytes: int
    fitted: bool = False
    # Size before fitting, so history can say what the user sent.
    original_width: int | None = None
    original_height: int | None = None


class Job(BaseModel):
    """One row of the jobs table. Times are Unix seconds (UTC)."""

    id: int | None = None
    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    status_message_id: int | None = None
    request_id: str | None = None
    status: JobStatus = JobStatus.SUBMITTING
    prompt: str
    model_id: str
    # What the user chose, the model's defaults elsewhere (bot.models.VideoModel.choose).
    options: Options = Field(default_factory=dict)
    # The model and the options that change a render's time (ETA samples, learned prices).
    kind: str = ""
    # The exact JSON body sent to RunComfy, once sent.
    body: dict[str, Any] | None = None
    # What the job was estimated to cost when admitted: it counts until `cost` is known.
    estimate_usd: float | None = None
    image: ImageFacts
    # The copy of the image attached to the status message, if the bot hosts one.
    image_url: str | None = None
    queue_position: int | None = None
    error: str | None = None
    video_url: str | None = None
    video_bytes: int | None = None  # the video as the service made it
    posted_video_bytes: int | None = None  # set when the posted copy was re-encoded
    extended_at: float | None = None  # Extend was pressed on the delivered video
    extends_job_id: int | None = None  # this job continues that one's video (Extend)
    cost: float | None = None
    delivered_channel_id: int | None = None
    delivered_message_id: int | None = None
    created_at: float
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    delivered_at: float | None = None
    # The server's Discord locale (e.g. "fr"): what the public messages speak.
    locale: str | None = None
    # How it was started: what reaches its place later, and who sees it there.
    reach: Reach = Reach.CHANNEL
    visibility: Visibility = Visibility.PUBLIC
    # The largest upload Discord took there, as its command said (`attachment_size_limit`).
    upload_limit: int | None = None
    # When its author posted the private video to the channel (Post to channel, once).
    shared_at: float | None = None

    @property
    def private(self) -> bool:
        return self.visibility.private

    @property
    def channel_reachable(self) -> bool:
        """Can the bot edit its status and post in its channel with its own token?"""
        return self.reach is Reach.CHANNEL and not self.private


class GuildSettings(BaseModel):
    """What a server's admins chose with /admin; None means "the operator's setting"."""

    model_config = ConfigDict(frozen=True)

    guild_id: int
    paused: bool = False
    pause_reason: str | None = None
    # Empty: /animate works in every channel.
    allowed_channel_ids: tuple[int, ...] = ()
    user_concurrent: int | None = Field(default=None, ge=1)
    user_daily: int | None = Field(default=None, ge=1)
    daily_spend_cap_usd: float | None = Field(default=None, gt=0)
    # The model /animate uses when a member names none; None: the operator's first.
    default_model_id: str | None = None
    # The operator's models the members may use; empty: all of them.
    allowed_model_ids: tuple[str, ...] = ()
    # The language of public messages (a catalog's locale); None: automatic.
    language: str | None = None
    updated_by: int | None = None
    updated_at: float | None = None


class UserSettings(BaseModel):
    """What a user chose for themselves (/animate-settings), wherever they use the bot."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    # Their new videos are private (visible to them alone) unless a command says otherwise.
    private: bool = False


class GuildUsage(BaseModel):
    """What a server's admission check needs, read in one round trip."""

    user_active: int  # the user's jobs in this server not final
    user_since: int  # the user's charged jobs in this server since the window start
    oldest_since: float | None  # created_at of the oldest of those
    # The server's charged jobs since the window start: their cost, else their estimate.
    committed_usd: float


class UserSpend(BaseModel):
    user_id: int
    jobs: int
    spend_usd: float


class ModelSpend(BaseModel):
    model_id: str
    jobs: int
    spend_usd: float  # known costs
    estimated_usd: float  # charged jobs without a known cost, at their estimate


class UsageReport(BaseModel):
    """A server's jobs since a moment: counts by outcome and known spend."""

    jobs: int = 0
    delivered: int = 0
    failed: int = 0  # failed, timed out or lost
    cancelled: int = 0
    active: int = 0
    spend_usd: float = 0.0
    top_users: list[UserSpend] = Field(default_factory=list)
    by_model: list[ModelSpend] = Field(default_factory=list)
