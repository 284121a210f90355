"""A video RunComfy billed under a cent is not shown as free: "$0.00" beside a cost it
reported (a cheap model's short video) says nothing was charged. The amount keeps the
digits that make it non-zero, in English and in French.
"""

from __future__ import annotations

import re

from bot.i18n import load_messages
from tests.cogs.test_budgets import animate, delivered_videos
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_a_cost_under_a_cent_is_shown_as_charged(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start()
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05, cost=0.0042))
    await animate(discord_fake, discord_fake.author)
    (video,) = await discord_fake.wait_for(lambda: delivered_videos(discord_fake), within=10)
    assert not re.search(r"\$0\.00(?!\d)", video.content), video.content
    assert "cost $0.0042" in video.content, video.content


def test_amounts_under_a_cent_keep_their_first_digits() -> None:
    en, fr = load_messages("en"), load_messages("fr")
    assert en.money(0.0042) == "$0.0042"
    assert en.money(0.004237) == "$0.0042"
    assert fr.money(0.0042) == "0,0042\xa0$US"
    # Cents and more, and nothing at all, as before.
    assert [en.money(x) for x in (0.12, 1.5, 0.0)] == ["$0.12", "$1.50", "$0.00"]
