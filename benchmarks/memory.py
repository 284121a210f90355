"""Per-job state left in memory after N finished jobs (issue 12, item 9).

`python -m benchmarks.memory --jobs 10000 [--json PATH]`

What it measures: the real bot (composition root, real discord.py) runs in this
process against the loopback fake Discord. Each job is driven through the animate
cog's observer side exactly as JobService drives it: a member presses a button (the
fake's `click`), the bot receives the interaction and defers it ("thinking", as
/animate leaves it), that `discord.Interaction` is remembered for the job's status
message, the job is shown queued and rendering (coalesced edits through the
interaction), then it ends: nine in ten are delivered as a link (`deliver`, then
"Done"), one in ten fails (the author is told). No /animate command, no Pillow, no
RunComfy: the status board, the coalescer and the courier are what hold per-job
state, and that is what is counted.

Printed: RSS before and after, its growth per job, and the live per-job entries
(sessions, unreachable marks, coalescer keys) after the jobs finished. The fake
Discord's own records of finished jobs are dropped as it goes, so RSS growth is
the bot's. Figures are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import discord

from app.client import AnimateBot
from benchmarks.common import machine, write_json
from bot.domain import ImageFacts, Job, JobStatus
from bot.jobs import LinkReason
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import RUNCOMFY_TOKEN, BotRunner, pointed_at, settings_for_fakes
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import job_fields

IMAGE = ImageFacts(filename="cat.png", format="PNG", width=800, height=600, size_bytes=1000)
AT_ONCE = 50


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def deferred_press(
    fake: FakeDiscord, bot: AnimateBot, anchor: FakeMessage, job_id: int
) -> tuple[discord.Interaction, FakeInteraction]:
    """A press the bot received and deferred: a token and a "thinking" message, as a
    deferred /animate leaves them."""
    custom_id = f"memory-benchmark:{job_id}"  # no button of the bot's: nothing answers it
    received = asyncio.ensure_future(
        bot.wait_for(
            "interaction",
            check=lambda i: (i.data or {}).get("custom_id") == custom_id,
            timeout=10,
        )
    )
    pressed = await fake.click(anchor, custom_id)
    interaction = await received
    await interaction.response.defer(thinking=True)
    return interaction, pressed


async def one_job(fake: FakeDiscord, bot: AnimateBot, anchor: FakeMessage, job_id: int) -> None:
    cog: Any = bot.get_cog("Animate")
    interaction, pressed = await deferred_press(fake, bot, anchor, job_id)
    job = Job(
        id=job_id,
        user_id=fake.author.id,
        guild_id=fake.guild_id,
        channel_id=fake.general,
        status_message_id=pressed.original_id,
        request_id=f"req-{job_id}",
        status=JobStatus.IN_QUEUE,
        prompt=f"job {job_id}",
        image=IMAGE,
        created_at=time.time(),
        submitted_at=time.time(),
        **job_fields(),
    )
    cog.board.remember(job_id, interaction)
    await cog.job_updated(job)
    job = job.model_copy(update={"status": JobStatus.IN_PROGRESS})
    await cog.job_updated(job)
    if job_id % 10:
        url = f"https://videos.example/{job_id}.mp4"
        job = job.model_copy(update={"status": JobStatus.COMPLETED, "video_url": url})
        await cog.job_updated(job)
        await cog.deliver(job, None, why=LinkReason.UNAVAILABLE)
        await cog.job_updated(job.model_copy(update={"status": JobStatus.DELIVERED}))
    else:
        job = job.model_copy(update={"status": JobStatus.FAILED, "error": "it broke"})
        await cog.job_updated(job)
        await cog.job_ended(job)
    # The fake's records of this job are not the bot's memory: drop them.
    fake.interactions.pop(pressed.token, None)
    for mid in [m for m, msg in fake.messages.items() if msg.interaction_token == pressed.token]:
        del fake.messages[mid]


async def main(jobs: int = 10_000, json_path: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="animate-memory-") as tmp:
        fake = FakeDiscord()
        await fake.start()
        # The bot's token: it reads its model from RunComfy before it starts.
        async with FakeRunComfy(token=RUNCOMFY_TOKEN) as runcomfy:
            settings = settings_for_fakes(fake, runcomfy, Path(tmp) / "bot.db")
            with pointed_at(fake):
                runner = BotRunner(settings, fake)
                bot = await runner.start()
                try:
                    figures = await _measure(fake, bot, jobs)
                finally:
                    await runner.stop()
        await fake.close()
    write_json(json_path, figures)
    return figures


async def _measure(fake: FakeDiscord, bot: AnimateBot, jobs: int) -> dict[str, float]:
    anchor = fake.post("The message whose buttons the benchmark presses")
    await one_job(fake, bot, anchor, 0)  # warm-up: first-use allocations are not per job
    gc.collect()
    before = rss_bytes()
    began = time.perf_counter()
    for start in range(1, jobs + 1, AT_ONCE):
        batch = range(start, min(jobs + 1, start + AT_ONCE))
        await asyncio.gather(*(one_job(fake, bot, anchor, i) for i in batch))
        fake.requests.clear()
        fake.messages.clear()  # link messages of finished jobs
    await asyncio.sleep(0.3)  # pending edit workers (if any) end
    gc.collect()
    after = rss_bytes()
    board: Any = bot.get_cog("Animate").board  # type: ignore[union-attr]
    figures = {
        "jobs": float(jobs),
        "seconds": time.perf_counter() - began,
        "rss_before_mb": before / 1e6,
        "rss_after_mb": after / 1e6,
        "rss_growth_per_job_bytes": (after - before) / jobs,
        "live_per_job_entries": float(board.live_entries()),
        "sessions": float(len(board.sessions)),
    }
    print(f"Memory after {jobs} finished jobs ({machine()}; shared machine, noisy)")
    print(
        f"  RSS {figures['rss_before_mb']:.1f} MB -> {figures['rss_after_mb']:.1f} MB "
        f"({figures['rss_growth_per_job_bytes']:.0f} B per job); "
        f"live per-job entries {figures['live_per_job_entries']:.0f} "
        f"(sessions {figures['sessions']:.0f}); {figures['seconds']:.1f} s"
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.json))
