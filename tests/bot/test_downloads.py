"""The download loop (bot/downloads.py) against the fake RunComfy's CDN: a stall rule.

Issue 27 #11: a CDN that sends 1 KiB every 2 s held a delivery for the whole 300 s
deadline. Fewer than VIDEO_DOWNLOAD_STALL_BYTES in VIDEO_DOWNLOAD_STALL_SECONDS now
ends the try; the link is posted as for any other download that fails.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.domain import JobStatus
from bot.downloads import (
    DownloadError,
    DownloadProblem,
    StallRule,
    cdn_client,
    download_to_file,
)
from bot.jobs import LinkReason
from tests.bot.jobs.harness import Harness
from tests.bot.jobs.harness import harness_factory as _harness_factory
from tests.fakes.runcomfy import FakeRunComfy, Timeline

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared

FAST = {"queue_seconds": 0.05, "run_seconds": 0.05}
KIB = 1024


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunComfy]:
    async with FakeRunComfy(token="t") as server:
        yield server


async def video_url(fake: FakeRunComfy, timeline: Timeline) -> str:
    """A finished job's video on the fake's CDN."""
    fake.script(timeline)
    async with httpx.AsyncClient(base_url=fake.base_url) as api:
        answer = await api.post(
            f"/v1/models/{fake.model_id}",
            json={"prompt": "p", "first_frame_image_url": "https://x.example/a.png"},
            headers={"Authorization": f"Bearer {fake.token}"},
        )
    return fake.video_url(answer.json()["request_id"])


def test_the_defaults_give_up_on_a_trickle_within_seconds() -> None:
    fields = Settings.model_fields
    window = fields["video_download_stall_seconds"].default
    floor = fields["video_download_stall_bytes"].default
    assert window <= 10
    # The CDN: 1 KiB every 2 s is far under the floor.
    assert window / 2 * KIB < floor
    assert StallRule() == StallRule(window, floor)


async def test_a_trickling_cdn_ends_the_try_after_one_window(
    fake: FakeRunComfy, tmp_path: Path
) -> None:
    url = await video_url(fake, Timeline(video_size=2_000_000, video_trickle_seconds=0.05))
    stall = StallRule(window_seconds=0.5, min_bytes=64 * KIB)  # 1 KiB / 50 ms: 10 KiB a window
    dest = tmp_path / "v.mp4"
    async with cdn_client(allow_private=True, timeout=30.0, stall=stall) as cdn:
        started = time.monotonic()
        with pytest.raises(DownloadError) as stalled:
            await download_to_file(cdn, url, dest, max_bytes=10**7)
    assert time.monotonic() - started < 3
    assert stalled.value.reason is DownloadProblem.UNAVAILABLE
    assert "stalled" in str(stalled.value)
    assert not dest.exists()


async def test_a_slow_cdn_above_the_floor_finishes(fake: FakeRunComfy, tmp_path: Path) -> None:
    # 1 KiB every 5 ms (about 200 KiB/s) against a floor of 16 KiB per 0.5 s (32 KiB/s):
    # every window is counted anew, so a download longer than one window goes through.
    size = 200 * KIB
    url = await video_url(fake, Timeline(video_size=size, video_trickle_seconds=0.005))
    stall = StallRule(window_seconds=0.5, min_bytes=16 * KIB)
    async with cdn_client(allow_private=True, timeout=30.0, stall=stall) as cdn:
        assert await download_to_file(cdn, url, tmp_path / "v.mp4", max_bytes=10**7) == size


async def test_a_trickling_cdn_gets_the_link_posted_long_before_the_deadline(
    harness_factory,
) -> None:
    h: Harness = await harness_factory(
        video_download_timeout_seconds=60,
        video_download_stall_seconds=0.5,
        video_download_stall_bytes=64 * KIB,
    )
    h.fake.script(Timeline(video_size=2_000_000, video_trickle_seconds=0.05, **FAST))
    job = await h.start_job()
    began = time.monotonic()
    await h.wait_status(job.id, JobStatus.DELIVERED, within=15)  # type: ignore[arg-type]
    assert time.monotonic() - began < 10  # every try stalls in one window; not 60 s
    assert [video for _, video in h.observer.delivered] == [None]  # the link instead
    assert h.observer.reasons == [LinkReason.UNAVAILABLE]
