"""A price RunComfy raises while a command is on its way: between its checks before the
defer and the row it writes (the image is still being read), a refresh reads the new
price. The job is admitted, and counted, at the price it will be billed at.
"""

from __future__ import annotations

from tests.cogs.test_admin import admin
from tests.cogs.test_budgets import animate
from tests.cogs.test_price_rise import NEW_PRICE, OLD_PRICE, refused
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline, seedance_bill

BUDGET = 0.5  # several videos at the old price, none at the new one


async def test_a_price_risen_while_the_image_is_read_decides_the_budget(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.base_price_usd = OLD_PRICE
    bot = await runner.start(quota_user_concurrent=20)
    await admin(discord_fake, "limits", daily_spend_usd=BUDGET)
    runcomfy_fake.script(Timeline(manual=True))
    discord_fake.cdn_latency = 30.0  # the image download is held: the command is mid-way
    ix = await animate(discord_fake, discord_fake.author)
    await discord_fake.wait_for(lambda: any("/cdn/" in r.path for r in discord_fake.requests))
    assert ix.response_type == 5  # admitted before the defer, at the old price

    # RunComfy's price rises tenfold and the hourly refresh reads it now.
    runcomfy_fake.base_price_usd = NEW_PRICE
    await bot.services.models.refresh()
    discord_fake.release_cdn()
    await discord_fake.wait_for(
        lambda: len(runcomfy_fake.submits) > 0 or refused(discord_fake, ix), within=10
    )
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    bills = [seedance_bill(body, hosted) or 0.0 for body in runcomfy_fake.submits]
    assert sum(bills) <= BUDGET, f"admitted at the old price, billed {bills} under ${BUDGET}"
    assert refused(discord_fake, ix)
