"""A ❌ (or Cancel) while the job is still being sent to RunComfy: the author asked to
cancel a video that will sit in the queue, so it is cancelled as soon as it is sent
(nothing charged), not silently made and billed.
"""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, request_id_of, status_message, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_a_cross_added_while_the_job_is_being_sent_cancels_it_once_sent(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))  # it would stay queued
    runcomfy_fake.inject("submit", "slow", delay=1.5)
    ix = await discord_fake.invoke("animate", image=png(), prompt="never mind")
    await discord_fake.wait_for(
        lambda: any(r.endpoint == "submit" for r in runcomfy_fake.requests), within=10
    )
    status = status_message(discord_fake, ix)
    await discord_fake.react(status, user=discord_fake.author)  # the submit is in flight

    await wait_state(discord_fake, status, "Cancelled")
    assert runcomfy_fake.count("cancel") == 1
    assert runcomfy_fake.jobs[request_id_of(runcomfy_fake)].forced == "cancelled"
