"""Chaos on both sides: every job still ends right and every user learns how."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from app.client import AnimateBot
from bot.domain import FINAL_STATUSES, JobStatus
from tests.cogs.animate.helpers import png, state_of, status_message
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Poll a database condition until it holds (bounded)."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


# "html": a 200 HTML page (a proxy's, a login page) where JSON was expected.
RUNCOMFY_FAULTS = ["429", "500", "502", "503", "malformed", "error_200", "reset", "slow", "html"]


async def test_runcomfy_chaos_every_job_ends_correctly_without_duplicate_submits(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    rng = random.Random(30)
    users = [discord_fake.author, discord_fake.stranger, discord_fake.moderator]
    expected: list[str] = []
    for i in range(6):
        outcome = "failed" if i % 3 == 2 else "completed"
        expected.append(outcome)
        runcomfy_fake.script(
            Timeline(
                queue_seconds=rng.uniform(0.1, 0.6),
                run_seconds=rng.uniform(0.1, 0.6),
                outcome=outcome,
            )  # type: ignore[arg-type]
        )
    runcomfy_fake.chaos(0.3, RUNCOMFY_FAULTS, seed=30)
    for i in range(6):
        ix = await discord_fake.invoke("animate", image=png(), prompt=f"p{i}", user=users[i % 3])
        await discord_fake.wait_for(lambda ix=ix: ix.response_type is not None)
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 6, within=10)

    async def all_final() -> bool:
        return not await bot.jobs.store.active_jobs()

    await eventually(all_final)
    jobs = {j.request_id: j for u in users for j in await bot.jobs.store.list_for_user(u.id)}
    assert len(jobs) == 6 and all(j.status in FINAL_STATUSES for j in jobs.values())
    for rid, fake_job in runcomfy_fake.jobs.items():
        want = JobStatus.DELIVERED if fake_job.timeline.outcome == "completed" else JobStatus.FAILED
        assert jobs[rid].status is want
    assert runcomfy_fake.count("submit") == 6


async def test_discord_chaos_every_user_learns_the_outcome(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    """Expired tokens, 413, a deleted status message, a hidden channel, closed DMs, 429s."""
    author, stranger, moderator = discord_fake.author, discord_fake.stranger, discord_fake.moderator
    discord_fake.upload_limit = 1000  # channel uploads: every video is "too large" (413)
    for route in ("/messages", "/callback", "/reactions", "@original"):
        discord_fake.rate_limit_once(route, retry_after=0.05)
    runcomfy_fake.script(*(Timeline(manual=True) for _ in range(3)))

    token_expired = await discord_fake.invoke("animate", image=png(), prompt="a", user=author)
    await discord_fake.wait_for(
        lambda: token_expired.original_id and len(runcomfy_fake.submits) == 1, within=10
    )
    deleted = await discord_fake.invoke("animate", image=png(), prompt="b", user=stranger)
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    hidden = await discord_fake.invoke(
        "animate", image=png(), prompt="c", user=moderator, channel=discord_fake.hidden
    )
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 3, within=10)

    discord_fake.expire(token_expired)
    discord_fake.expire(deleted)
    discord_fake.delete(status_message(discord_fake, deleted))
    discord_fake.expire(hidden)
    discord_fake.dm_closed.add(moderator.id)
    for rid in list(runcomfy_fake.jobs):
        runcomfy_fake.set_state(rid, "completed")

    def told(user_id: int) -> list[FakeMessage]:
        return [
            m for m in discord_fake.messages.values() if not m.deleted and user_id in m.pinged_users
        ]

    # Author: the status edits moved to the channel; the video came as a link (413).
    await discord_fake.wait_for(lambda: told(author.id), within=10)
    assert "upload limit" in told(author.id)[0].content
    await discord_fake.wait_for(
        lambda: "Done" in state_of(status_message(discord_fake, token_expired)), within=10
    )
    # Stranger: the status message is gone; a fresh message still reaches them.
    await discord_fake.wait_for(lambda: told(stranger.id), within=10)

    # Moderator: no channel, no token, no DMs: the result waits in /history.
    async def moderator_done() -> bool:
        jobs = await bot.jobs.store.list_for_user(moderator.id)
        return bool(jobs) and jobs[0].status is JobStatus.DELIVERED

    await eventually(moderator_done)
    (job,) = await bot.jobs.store.list_for_user(moderator.id)
    assert job.status is JobStatus.DELIVERED and job.delivered_message_id is None
    assert job.video_url is not None
    assert not told(moderator.id)
    assert any(r.status == 429 for r in discord_fake.requests)
