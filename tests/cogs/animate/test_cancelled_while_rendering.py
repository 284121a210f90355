"""RunComfy says "cancelled" of a video the bot saw rendering (its operator cancelled it
there, or RunComfy stopped it): a render that began is billed, so the bot neither tells
its author it cost nothing nor gives back the member's daily slot and the budget.
"""

from __future__ import annotations

from tests.bot.jobs.test_spend_safety import refusal
from tests.cogs.animate.helpers import request_id_of, start_queued, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy


async def test_a_video_cancelled_at_the_service_after_it_began_rendering_still_counts(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(quota_user_daily=1)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    request_id = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(request_id, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    runcomfy_fake.set_state(request_id, "cancelled")
    author = discord_fake.author
    pinged = f"<@{author.id}>"
    await discord_fake.wait_for(
        lambda: any(pinged in m.content for m in discord_fake.visible_to(author)), within=10
    )
    said = " ".join(m.content for m in discord_fake.visible_to(author))
    assert "cost nothing" not in said, said
    # Its render began, so it is billed: the member's one video of the day is used.
    assert "1 video in the last 24 hours" in await refusal(discord_fake)
    assert len(runcomfy_fake.submits) == 1
