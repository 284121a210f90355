"""A stop that comes once RunComfy has accepted a job but before its request id is
stored (the write held up: a busy database) must not cut that write off: RunComfy
renders and bills the job, and without its id the bot can neither follow nor deliver
it; the next start would call it lost. Real process, real SIGTERM, PostgreSQL (whose
driver cancels a statement it is interrupted in).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from bot.domain import JobStatus
from bot.store import open_store
from tests.app.test_signals import STOP_WITHIN, log_of
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.stores import pg_url  # noqa: F401  (fixture)


async def test_a_stop_right_after_runcomfy_accepted_a_job_keeps_its_request_id(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = settings_for_fakes(
        discord_fake,
        runcomfy_fake,
        tmp_path / "unused.db",
        database_url=pg_url,
        process_id="bot-a",
        shutdown_grace_seconds=0.5,
    )
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    runcomfy_fake.script(Timeline(manual=True))
    runcomfy_fake.inject("submit", "slow", delay=1.0)
    await discord_fake.invoke("animate", image=png(), prompt="accepted at the last moment")
    await discord_fake.wait_for(
        lambda: any(r.endpoint == "submit" for r in runcomfy_fake.requests), within=10
    )
    # The job's row is held (another statement's lock) while RunComfy accepts the job.
    holder = await asyncpg.connect(pg_url)
    try:
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT id FROM jobs FOR UPDATE")
        await discord_fake.wait_for(lambda: len(runcomfy_fake.jobs) == 1, within=10)
        await asyncio.sleep(0.3)  # its answer is in: the bot waits to store the id
        stopping = asyncio.create_task(bot.terminate(within=STOP_WITHIN))
        await asyncio.sleep(1.5)  # past the grace
        await held.rollback()
        code, _ = await stopping
    finally:
        await holder.close()
    assert code == 0, log_of(tmp_path)
    (request_id,) = runcomfy_fake.jobs
    async with await open_store(settings) as store:
        (job,) = await store.list_for_user(discord_fake.author.id, limit=10)
    # Kept, so the next start follows it to its video.
    assert job.request_id == request_id and job.status is JobStatus.IN_QUEUE, job
