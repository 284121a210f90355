"""SIGKILL the bot process at random points; every job still ends, once.

The bot runs as a real separate process against the loopback fakes; it is
killed without any cleanup several times and restarted on the same database.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

from bot.domain import FINAL_STATUSES, JobStatus
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN, RUNCOMFY_TOKEN, settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.stores import OpenStore

JOBS = 50
KILLS = 3


def timelines(rng: random.Random) -> list[Timeline]:
    return [
        Timeline(
            queue_positions=(3, 2, 1),
            queue_seconds=rng.uniform(0.2, 1.5),
            run_seconds=rng.uniform(0.2, 1.5),
            outcome="failed" if i % 5 == 4 else "completed",
            error="model error" if i % 5 == 4 else None,
        )
        for i in range(JOBS)
    ]


async def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    tmp_path: Path,
    open_store_at: OpenStore,
) -> None:
    rng = random.Random(2026)
    users = [discord_fake.add_user(f"user{i}") for i in range(10)]
    runcomfy_fake.script(*timelines(rng))
    settings = settings_for_fakes(
        discord_fake,
        runcomfy_fake,
        tmp_path / "bot.db",
        quota_user_concurrent=JOBS,
        quota_global_concurrent=JOBS,
        poll_max_seconds=0.3,
    )
    # Both backends; restarts keep the PROCESS_ID, so each resumes its own jobs at once.
    settings = settings.model_copy(update=open_store_at.settings)
    store = await open_store_at()
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:
        image = png()
        for i in range(JOBS):
            await discord_fake.invoke(
                "animate", image=image, prompt=f"job {i}", user=users[i % len(users)]
            )
        await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == JOBS, within=30)
        # The kills come once every submit is recorded: a kill between RunComfy's
        # answer and the row is a lost job by design (no idempotency key), not a bug.
        for _ in range(100):  # bounded: 5 s
            if all(j.request_id is not None for j in await store.active_jobs()):
                break
            await asyncio.sleep(0.05)
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await bot.kill()
            await bot.start()
        for _ in range(600):  # at most 30 s
            if not await store.active_jobs():
                break
            await asyncio.sleep(0.05)
        jobs = [j for u in users for j in await store.list_for_user(u.id, limit=100)]
    finally:
        await bot.stop()

    assert len(jobs) == JOBS and all(j.status in FINAL_STATUSES for j in jobs)
    assert len(runcomfy_fake.submits) == JOBS  # nothing was ever sent twice
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
    bot_log = (tmp_path / "bot.log").read_text()
    assert DISCORD_TOKEN not in bot_log and RUNCOMFY_TOKEN not in bot_log
    assert "Traceback" not in bot_log
