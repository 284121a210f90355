"""Videos the bot cancelled at RunComfy's queue's limit were never billed (RunComfy
dropped them): they spend none of a server's budget, and /admin usage spends nothing
on them. RunComfy's slow queue must not shut a server's members out for the day.
"""

from __future__ import annotations

from tests.cogs.animate.helpers import status_message, wait_state
from tests.cogs.test_admin import admin
from tests.cogs.test_budgets import animate, outcome
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

BUDGET = 0.5  # two first estimates of $0.24, not three


async def test_videos_dropped_from_the_queue_at_its_limit_spend_none_of_the_budget(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(queue_timeout_seconds=0.3, quota_user_concurrent=20)
    await admin(discord_fake, "limits", daily_spend_usd=BUDGET)
    for _ in range(2):
        runcomfy_fake.script(Timeline(manual=True))  # RunComfy's queue never moves
        ix = await animate(discord_fake, discord_fake.author)
        await discord_fake.wait_for(lambda ix=ix: ix.original_id, within=10)
        await wait_state(discord_fake, status_message(discord_fake, ix), "Timed out")
    assert runcomfy_fake.count("cancel") == 2  # each dropped from the queue: never billed
    assert await bot.jobs.store.spend_since(0.0) == 0.0

    runcomfy_fake.script(Timeline(manual=True))
    before = len(runcomfy_fake.submits)
    ix = await animate(discord_fake, discord_fake.author)
    said = await discord_fake.wait_for(
        lambda: outcome(discord_fake, runcomfy_fake, ix, before), within=10
    )
    assert said == "admitted"
