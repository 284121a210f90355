"""One video per job across processes (issue 27 #10): two bot processes on one PostgreSQL.

Process A runs shards 0 and 1 (DMs), B runs shard 2, as in test_multi_process. A job
made in a DM is A's; A is stopped (SIGSTOP: alive but not running, as a process stalled
far past its lease) or killed while it posts the video, and B takes the job over.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

from bot.domain import Job, JobStatus
from bot.store import JobStore
from tests.bot.jobs.two_processes import start_pair
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline

LEASE_SECONDS = 3.0  # renewed every second, taken over 2 s after the last renewal
# A delivery claim: 4 × LEASE_SECONDS, renewed while the video is posted.
CLAIM_SECONDS = 4 * LEASE_SECONDS
# The CDN sends the video 1 KiB at a time, this far apart: a post that lasts seconds.
TRICKLE = 0.4
FOLLOWUP = re.compile(r"/webhooks/\d+/[^/]+$")  # a followup's creation


def posts_of(fake: FakeDiscord, job: Job) -> list[FakeMessage]:
    """Every message that carries the job's video: its file, or its link."""
    name = f"animate-{job.id}.mp4"
    return [
        m
        for m in fake.messages.values()
        if any(a.filename == name for a in m.attachments)
        or (job.video_url is not None and job.video_url in m.content)
    ]


async def dm_job_being_posted(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, store: JobStore
) -> Job:
    """A job made in a DM (process A's), once A has begun fetching its video."""
    runcomfy_fake.script(
        Timeline(
            queue_positions=(1,), queue_seconds=0.2, run_seconds=0.2, video_trickle_seconds=TRICKLE
        )
    )
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns", dm=True)
    await discord_fake.wait_for(lambda: runcomfy_fake.count("video") >= 1, within=20)
    (job,) = await store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.COMPLETED and job.video_url is not None
    assert (await store.lease_of(job.id or 0))[0] == "proc-a"
    return job


async def wait_final(store: JobStore, job: Job, within: float) -> Job:
    assert job.id is not None
    for _ in range(int(within / 0.1)):
        fresh = await store.get(job.id)
        assert fresh is not None
        if fresh.status.is_final:
            return fresh
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job.id} still {fresh.status} after {within} s")


async def test_a_stalled_process_and_the_one_that_took_its_job_post_one_video(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, pg_url: str, tmp_path: Path
) -> None:
    # A stalled mid-post past its lease: B took the job over and posted the video, then
    # A woke up and posted it as well.
    a, b = await start_pair(
        discord_fake, runcomfy_fake, pg_url, tmp_path, lease_seconds=LEASE_SECONDS
    )
    store = await JobStore.open(pg_url, max_size=2)
    try:
        job = await dm_job_being_posted(discord_fake, runcomfy_fake, store)
        a.send(signal.SIGSTOP)
        try:
            for _ in range(100):  # B takes the job over within 2 s of A's last renewal
                if (await store.lease_of(job.id or 0))[0] == "proc-b":
                    break
                await asyncio.sleep(0.1)
            assert (await store.lease_of(job.id or 0))[0] == "proc-b"
            # Long enough for B to fetch the video (2 s) and post it, were it free to;
            # well inside A's claim (12 s), which A renews once it wakes.
            for _ in range(40):
                if posts_of(discord_fake, job):
                    break
                await asyncio.sleep(0.1)
        finally:
            a.send(signal.SIGCONT)
        done = await wait_final(store, job, within=20)
        await asyncio.sleep(2.0)  # a second post, if one is coming
    finally:
        await store.close()
        await a.stop()
        await b.stop()
    assert done.status is JobStatus.DELIVERED
    posts = posts_of(discord_fake, done)
    assert len(posts) == 1, [(m.id, m.channel_id) for m in posts]
    assert done.delivered_message_id == posts[0].id
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "Traceback" not in logs


async def test_the_video_of_a_process_killed_mid_post_is_posted_once_its_claim_lapses(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, pg_url: str, tmp_path: Path
) -> None:
    a, b = await start_pair(
        discord_fake, runcomfy_fake, pg_url, tmp_path, lease_seconds=LEASE_SECONDS
    )
    store = await JobStore.open(pg_url, max_size=2)
    try:
        job = await dm_job_being_posted(discord_fake, runcomfy_fake, store)
        await a.kill()  # mid-download: nothing posted
        killed_at = time.monotonic()
        done = await wait_final(store, job, within=CLAIM_SECONDS + 15)
        took = time.monotonic() - killed_at
        await asyncio.sleep(1.0)  # a second post, if one is coming
    finally:
        await store.close()
        await a.stop()
        await b.stop()
    assert done.status is JobStatus.DELIVERED
    (post,) = posts_of(discord_fake, done)
    assert done.delivered_message_id == post.id
    assert took <= CLAIM_SECONDS + 10, took  # the claim lapsed, and B posted
    assert "posting it here" in (tmp_path / "b.log").read_text()


async def test_a_post_made_but_not_recorded_by_a_dead_process_is_not_made_again(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, pg_url: str, tmp_path: Path
) -> None:
    a, b = await start_pair(
        discord_fake, runcomfy_fake, pg_url, tmp_path, lease_seconds=LEASE_SECONDS
    )
    store = await JobStore.open(pg_url, max_size=2)
    try:
        job = await dm_job_being_posted(discord_fake, runcomfy_fake, store)
        seen = len(discord_fake.requests)
        discord_fake.latency = 1.0  # Discord is slow to answer: A's post will be in flight
        await discord_fake.wait_for(
            lambda: any(
                r.method == "POST" and FOLLOWUP.search(r.path) for r in discord_fake.requests[seen:]
            ),
            within=15,
        )
        a.send(signal.SIGSTOP)  # the post is on its way; A will never read the answer
        await discord_fake.wait_for(lambda: posts_of(discord_fake, job), within=5)
        discord_fake.latency = 0.0
        await a.kill()
        done = await wait_final(store, job, within=CLAIM_SECONDS + 15)
        await asyncio.sleep(1.0)  # a second post, if one is coming
    finally:
        await store.close()
        await a.stop()
        await b.stop()
    # B, once A's claim lapsed, found A's post and recorded it rather than posting again.
    assert done.status is JobStatus.DELIVERED
    (post,) = posts_of(discord_fake, done)
    assert done.delivered_message_id == post.id
    assert "posting it here" in (tmp_path / "b.log").read_text()
