"""Money held whatever members do: a server's limits and budgets, the operator's daily cap.

Black box: the real bot against both fakes. The fake RunComfy bills each video as
Seedance does (`tests.fakes.runcomfy.seedance_bill`), so the costs it reports are what
the budgets must hold against.
"""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.test_animate import (
    png,
    start_queued,
    status_message,
    until_queued_and_cancellable,
    wait_state,
)
from tests.cogs.test_admin import admin, answer, refused_animate
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline

# -- issue 27 #3: a member's day counts charged jobs only ----------------------------------


async def test_a_job_cancelled_while_queued_leaves_the_members_day_unused(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await admin(discord_fake, "limits", per_user_daily=1)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await discord_fake.react(status, user=discord_fake.author)
    await wait_state(discord_fake, status, "Cancelled")
    assert runcomfy_fake.count("cancel") == 1  # dropped from the queue: never billed

    # The cancelled job cost nothing: the member's one video of the day is still theirs.
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 5, answer(discord_fake, ix)  # deferred publicly, not refused
    await discord_fake.wait_for(lambda: ix.original_id)
    await until_queued_and_cancellable(discord_fake, status_message(discord_fake, ix))
    assert len(runcomfy_fake.submits) == 2
    # And that one counts: the next is refused, naming the server's limit.
    refused = await refused_animate(discord_fake)
    assert "1 video in the last 24 hours" in answer(discord_fake, refused)
    assert len(runcomfy_fake.submits) == 2
