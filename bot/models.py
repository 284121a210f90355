"""The domain: a job, its options and its states. Pure data, no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Resolution = Literal["480p", "720p", "1080p"]
Ratio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"]
RESOLUTIONS: tuple[Resolution, ...] = ("480p", "720p", "1080p")
RATIOS: tuple[Ratio, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
MIN_DURATION = 4
MAX_DURATION = 12


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


class JobOptions(BaseModel):
    """What the user chose; the model's defaults where they chose nothing."""

    model_config = ConfigDict(frozen=True)

    resolution: Resolution = "480p"
    ratio: Ratio = "adaptive"
    duration: int = Field(default=5, ge=MIN_DURATION, le=MAX_DURATION)
    generate_audio: bool = True
    camera_fixed: bool = True


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
    options: JobOptions = Field(default_factory=JobOptions)
    image: ImageFacts
    # The copy of the image attached to the status message, if the bot hosts one.
    image_url: str | None = None
    queue_position: int | None = None
    error: str | None = None
    video_url: str | None = None
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
