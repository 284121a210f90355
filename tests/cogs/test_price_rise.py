"""A price RunComfy raises after the bot has learned what videos cost: the budget holds.

The bot learns a kind's cost from its delivered videos (`bot.pricing`); costs billed at
the old price must not decide the estimate once the model's list price has risen, or a
server's budget admits videos at a fraction of what they will be billed.
"""

from __future__ import annotations

from tests.cogs.test_admin import admin
from tests.cogs.test_budgets import REFUSALS, animate, delivered_videos
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline, seedance_bill

BUDGET = 3.0
QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)
OLD_PRICE, NEW_PRICE = 0.024, 0.24  # per second: RunComfy's price goes up tenfold


def refused(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    said = [fake.messages.get(i) for i in (ix.original_id, *ix.followup_ids) if i is not None]
    return any(m is not None and any(r in m.content for r in REFUSALS) for m in said)


async def test_a_risen_price_counts_at_once_not_the_costs_billed_before_it(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.base_price_usd = OLD_PRICE
    await runner.start(quota_user_concurrent=20)
    await admin(discord_fake, "limits", daily_spend_usd=BUDGET)
    member = discord_fake.add_user("member")
    # Three videos delivered at the old price: the bot has learned what this kind costs.
    for n in range(1, 4):
        runcomfy_fake.script(QUICK)
        await animate(discord_fake, member)
        await discord_fake.wait_for(lambda n=n: len(delivered_videos(discord_fake)) == n, within=10)
    await discord_fake.wait_for(lambda: runcomfy_fake.count("result") >= 3, within=10)

    # RunComfy raises its price (read at the next start, as at any refresh).
    runcomfy_fake.base_price_usd = NEW_PRICE
    await runner.restart()
    # Jobs stay queued: each counts against the budget at its estimate.
    before = len(runcomfy_fake.submits)
    for _ in range(10):
        runcomfy_fake.script(Timeline(manual=True))
        submitted = len(runcomfy_fake.submits)
        ix = await animate(discord_fake, member)
        await discord_fake.wait_for(
            lambda s=submitted, ix=ix: len(runcomfy_fake.submits) > s or refused(discord_fake, ix),
            within=10,
        )
        if refused(discord_fake, ix):
            break
    admitted = runcomfy_fake.submits[before:]
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    old_bills = 3 * seedance_bill(runcomfy_fake.submits[0], hosted) * OLD_PRICE / NEW_PRICE
    new_bills = [seedance_bill(body, hosted) or 0.0 for body in admitted]
    # Within the budget, plus one video at most.
    assert old_bills + sum(new_bills) <= BUDGET + max(new_bills), (len(admitted), new_bills)


async def test_a_price_of_zero_is_no_price_under_a_budget(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # RunComfy's catalog says the model is free while its bills are not: each video was
    # admitted at $0, so a budget held nothing at all.
    runcomfy_fake.base_price_usd = 0.0
    await runner.start(quota_user_concurrent=20)
    await admin(discord_fake, "limits", daily_spend_usd=0.5)
    admitted = 0
    for _ in range(6):
        runcomfy_fake.script(Timeline(manual=True, cost=0.24))
        submitted = len(runcomfy_fake.submits)
        ix = await animate(discord_fake, discord_fake.author)
        await discord_fake.wait_for(
            lambda s=submitted, ix=ix: len(runcomfy_fake.submits) > s or said_no(discord_fake, ix),
            within=10,
        )
        admitted = len(runcomfy_fake.submits)
        if said_no(discord_fake, ix):
            break
    assert admitted == 0, f"{admitted} videos admitted at $0 under a $0.50 budget"


def said_no(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """Refused privately, for whatever reason (the budget, an unknown price)."""
    said = [fake.messages.get(i) for i in (ix.original_id, *ix.followup_ids) if i is not None]
    return any(m is not None and m.ephemeral and m.content for m in said)


async def test_videos_reported_free_do_not_make_the_next_ones_free_under_a_budget(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Three videos RunComfy reported at $0 (free credits, or nonsense) taught the bot
    # that its videos cost nothing: a budget then admitted every one after them.
    await runner.start(quota_user_concurrent=20)
    for n in range(1, 4):
        runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05, cost=0.0))
        await animate(discord_fake, discord_fake.author)
        await discord_fake.wait_for(lambda n=n: len(delivered_videos(discord_fake)) == n, within=10)
    await runner.restart()  # what it learned is read afresh
    await admin(discord_fake, "limits", daily_spend_usd=0.5)
    before = len(runcomfy_fake.submits)
    for _ in range(6):
        runcomfy_fake.script(Timeline(manual=True))
        submitted = len(runcomfy_fake.submits)
        ix = await animate(discord_fake, discord_fake.author)
        await discord_fake.wait_for(
            lambda s=submitted, ix=ix: len(runcomfy_fake.submits) > s or said_no(discord_fake, ix),
            within=10,
        )
        if said_no(discord_fake, ix):
            break
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    bills = [seedance_bill(body, hosted) or 0.0 for body in runcomfy_fake.submits[before:]]
    assert sum(bills) <= 0.5 + max(bills, default=0.0), bills
