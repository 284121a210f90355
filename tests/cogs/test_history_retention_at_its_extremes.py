"""HISTORY_RETENTION_DAYS at its extremes: a careless operator's "keep forever" number.

The setting has no maximum; a number of days too large for a float (a few hundred
digits) made the purge raise OverflowError at every start, in a background task.
"""

from __future__ import annotations

import time

from tests.cogs.test_history import seed
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner

FOREVER = 10**400  # days: more than a float holds


async def test_a_retention_longer_than_a_float_purges_nothing_and_raises_nothing(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    bot = await runner.start()
    old = await seed(bot, discord_fake.author, 3, start=time.time() - 400 * 86_400)
    await runner.stop()
    bot = await runner.start(history_retention_days=FOREVER)

    assert await bot.jobs.purge_expired() == 0
    left = await bot.jobs.store.list_for_user(discord_fake.author.id, limit=50)
    assert {j.id for j in left} == {j.id for j in old}
