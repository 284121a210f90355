"""Two bot processes on one PostgreSQL against the loopback fakes; SIGKILL one mid-way.

Process A runs shards 0 and 1 (DMs land on shard 0), B runs shard 2 (the fake guild's
shard of 3), so each receives its own interactions and creates its own jobs. A is
killed while its jobs render: B takes them over as their leases lapse, and every
job still ends once, with one submit each and each video delivered once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from bot.domain import FINAL_STATUSES, JobStatus
from bot.store import JobStore, lease_hold
from tests.bot.jobs.two_processes import SHARDS, start_pair
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN, RUNCOMFY_TOKEN
from tests.fakes.runcomfy import FakeRunComfy, Timeline

JOBS = 100  # 50 per process
# A tenth of production's 30 s. At 3 s, A, busy with its 50 commands on a CI machine
# running three other test workers, missed three renewals in a row and B took over
# every job of a live A (safe, by design, but this test then has nothing to show).
LEASE_SECONDS = 6.0
# Scheduling slack on a loaded machine, on top of the lease's two thirds of the period
# (B takes a job when its lease lapses). Four copies of this test at once took 2.6 to
# 4.4 s from the kill; when B only looked every third of the period, CI once saw 8.0 s.
SLACK_SECONDS = 4.0


def timelines(rng: random.Random) -> list[Timeline]:
    return [
        Timeline(
            queue_positions=(2, 1),
            # Long enough that both processes still track jobs once the last is sent: a
            # process's burst holds its submits until its status messages are up.
            queue_seconds=rng.uniform(4.0, 8.0),
            run_seconds=rng.uniform(1.0, 3.0),
            outcome="failed" if i % 6 == 5 else "completed",
            error="model error" if i % 6 == 5 else None,
        )
        for i in range(JOBS)
    ]


async def test_sigkill_of_one_process_loses_and_duplicates_nothing(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(17)
    assert discord_fake.shard_of(discord_fake.guild_id, SHARDS) == 2  # B's shard
    users = [discord_fake.add_user(f"user{i}") for i in range(10)]
    runcomfy_fake.script(*timelines(rng))
    a, b = await start_pair(
        discord_fake,
        runcomfy_fake,
        pg_url,
        tmp_path,
        lease_seconds=LEASE_SECONDS,
        quota_user_concurrent=JOBS,
        quota_global_concurrent=JOBS,
    )
    store = await JobStore.open(pg_url, max_size=2)
    try:
        image = png()
        for i in range(JOBS):
            # Even jobs in DMs (shard 0: process A), odd ones in the guild (B).
            await discord_fake.invoke(
                "animate", image=image, prompt=f"job {i}", user=users[i % len(users)], dm=i % 2 == 0
            )
        await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == JOBS, within=60)
        for _ in range(100):  # bounded: until each process has stored its last request id
            active = await store.active_jobs()
            if all(j.request_id is not None for j in active):
                break
            await asyncio.sleep(0.05)
        owners = Counter([(await store.lease_of(j.id or 0))[0] for j in active])
        assert owners["proc-a"] > 0 and owners["proc-b"] > 0, owners  # both track jobs

        await a.kill()
        killed_at = time.monotonic()
        took_over = None
        for _ in range(400):  # at most 40 s
            left = [j for j in await store.active_jobs()]
            held = [(await store.lease_of(j.id or 0))[0] for j in left]
            if "proc-a" not in held and took_over is None:
                took_over = time.monotonic() - killed_at
            if not left:
                break
            await asyncio.sleep(0.1)
        jobs = [j for u in users for j in await store.list_for_user(u.id, limit=100)]
    finally:
        await store.close()
        await a.stop()
        await b.stop()

    assert len(jobs) == JOBS and all(j.status in FINAL_STATUSES for j in jobs)
    assert took_over is not None and took_over <= lease_hold(LEASE_SECONDS) + SLACK_SECONDS, (
        took_over
    )
    assert len(runcomfy_fake.submits) == JOBS  # one submit per job, across both processes
    outcome = {rid: job.timeline.outcome for rid, job in runcomfy_fake.jobs.items()}
    by_request = {j.request_id: j for j in jobs}
    for rid, expected in outcome.items():
        want = JobStatus.DELIVERED if expected == "completed" else JobStatus.FAILED
        assert by_request[rid].status is want, (rid, by_request[rid].status)
    videos = [
        m
        for m in discord_fake.messages.values()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]
    per_job = Counter(m.attachments[0].filename for m in videos)
    assert len(per_job) == sum(1 for o in outcome.values() if o == "completed")
    assert set(per_job.values()) == {1}  # each video delivered exactly once
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert DISCORD_TOKEN not in logs and RUNCOMFY_TOKEN not in logs
    assert "Traceback" not in logs
    assert "Took over" in (tmp_path / "b.log").read_text()
