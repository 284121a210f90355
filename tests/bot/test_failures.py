"""Failures sorted by kind, from what the service and the bot stored."""

from __future__ import annotations

import pytest

from bot.domain import ImageFacts, Job, JobStatus
from bot.failures import (
    HOSTED_TOO_LARGE_ERROR,
    STATUS_FAILED_ERROR,
    FailureKind,
    failure_kind,
    service_words,
)
from bot.jobs import NO_VIDEO, NOT_POSTED, SERVICE_UNAVAILABLE
from bot.jobs.contract import RESULT_EXPIRED, STILL_RENDERING, VIDEO_REFUSED
from bot.runcomfy import RunComfyError
from tests.models import job_fields

FACTS = ImageFacts(filename="a.png", format="PNG", width=8, height=8, size_bytes=1)


def ended(status: JobStatus, error: str | None) -> Job:
    return Job(
        user_id=1, prompt="p", image=FACTS, created_at=0, status=status, error=error, **job_fields()
    )


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (JobStatus.FAILED, "Input contains sensitive content (code 1301)", "content_refused"),
        (JobStatus.FAILED, "The image could not be decoded", "image_unreadable"),
        (JobStatus.FAILED, SERVICE_UNAVAILABLE, "service_unavailable"),
        (
            JobStatus.FAILED,
            RunComfyError("busy", status_code=503, retryable=True).user_message,
            "service_unavailable",
        ),
        (JobStatus.FAILED, NO_VIDEO, "no_video"),
        (
            JobStatus.FAILED,
            f"{NOT_POSTED} Its link: https://cdn.example/busy-policy.mp4",
            "not_posted",
        ),
        (JobStatus.FAILED, RESULT_EXPIRED, "no_video"),  # "fetched" is not about the image
        (JobStatus.FAILED, VIDEO_REFUSED, "no_video"),
        (JobStatus.FAILED, STATUS_FAILED_ERROR, "not_started"),
        (JobStatus.FAILED, HOSTED_TOO_LARGE_ERROR, "not_started"),  # not "image unreadable"
        (
            JobStatus.FAILED,
            RunComfyError("Input image width must be >= 300", status_code=422).user_message,
            "image_unreadable",
        ),
        (
            JobStatus.FAILED,
            RunComfyError("prompt flagged by safety filter", status_code=422).user_message,
            "content_refused",
        ),
        (JobStatus.FAILED, "generation failed", "other"),
        (JobStatus.TIMED_OUT, "No video after 20 minutes.", "took_too_long"),
        (
            JobStatus.TIMED_OUT,
            STILL_RENDERING.format(waited="3 hours"),
            "still_rendering",
        ),
        (JobStatus.LOST, "The bot restarted while sending this job", "lost"),
    ],
)
def test_failure_kinds(status: JobStatus, error: str, kind: str) -> None:
    assert failure_kind(ended(status, error)) is FailureKind(kind)


def test_jobs_that_did_not_fail_have_no_kind() -> None:
    for status in (JobStatus.DELIVERED, JobStatus.CANCELLED, JobStatus.IN_QUEUE):
        assert failure_kind(ended(status, None)) is None


@pytest.mark.parametrize(
    ("error", "words"),
    [
        # What the service said, alone or inside our sentence.
        (
            "Input contains sensitive content (code 1301)",
            "Input contains sensitive content (code 1301)",
        ),
        (
            RunComfyError("Input image width must be >= 300", status_code=422).user_message,
            "Input image width must be >= 300",
        ),
        # The bot's own sentences carry none of the service's words.
        (NO_VIDEO, None),
        (SERVICE_UNAVAILABLE, None),
        (STATUS_FAILED_ERROR, None),
        (RunComfyError("x", status_code=400).user_message, None),
        ("No video after 20 minutes.", None),
        ("", None),
        (None, None),
    ],
)
def test_the_services_own_words(error: str | None, words: str | None) -> None:
    assert service_words(ended(JobStatus.FAILED, error)) == words
