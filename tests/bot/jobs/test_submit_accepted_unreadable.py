"""A submit RunComfy answers with a success other than 200 (a 202 Accepted) in a shape
the bot cannot read: the job may exist and be billed, so it counts, as an unreadable
200 does; it is not "nothing was sent", free to try again without end.
"""

from __future__ import annotations

from tests.bot.jobs.test_spend_safety import refusal
from tests.cogs.animate.helpers import png, status_message, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_an_unreadable_202_to_a_submit_counts_as_a_video_that_may_be_billed(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(quota_user_daily=1)
    runcomfy_fake.script(Timeline(manual=True))
    runcomfy_fake.inject("submit", "submit_202_after_create")
    ix = await discord_fake.invoke("animate", image=png(), prompt="accepted, unreadably")
    await discord_fake.wait_for(lambda: ix.original_id)
    await wait_state(discord_fake, status_message(discord_fake, ix), "Lost")
    assert len(runcomfy_fake.jobs) == 1  # RunComfy has it: it renders and bills
    said = " ".join(m.content for m in discord_fake.visible_to(discord_fake.author))
    assert "cost nothing" not in said, said
    # The member's one video of the day is used: trying again is not free.
    assert "1 video in the last 24 hours" in await refusal(discord_fake)
    assert len(runcomfy_fake.submits) == 1
