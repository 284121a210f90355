"""Cancelling an /animate job: the ❌ reaction and the button, by whom and when."""

from __future__ import annotations

import asyncio

from app.client import AnimateBot
from tests.cogs.animate.helpers import (
    png,
    request_id_of,
    start_queued,
    state_of,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_a_job_rendering_before_its_cross_is_added_takes_it_back_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # At 1,000 jobs the ❌ waits its turn under the 50/s limit while jobs start: the
    # "rendering" edit took back a ❌ not yet there, then the add's own check took it
    # back again (1.3 DELETEs per job).
    runcomfy_fake.script(Timeline(queue_positions=(1,), queue_seconds=0.05, run_seconds=3.0))
    discord_fake.rate_limit_once("/reactions/", retry_after=1.0)  # the add comes late
    ix = await discord_fake.invoke("animate", image=png(), prompt="the waves roll in")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Rendering")
    await discord_fake.wait_for(lambda: discord_fake.count("PUT", "/reactions/") == 2, within=5)
    await discord_fake.wait_for(
        lambda: discord_fake.bot.id not in status.reactions.get("❌", set()), within=5
    )
    await asyncio.sleep(0.3)  # any second take-back would be on its way by now
    assert discord_fake.count("DELETE", "/reactions/") == 1


async def test_author_cancels_a_queued_job_with_the_reaction(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await discord_fake.react(status, user=discord_fake.author)
    await wait_state(discord_fake, status, "Cancelled")
    assert runcomfy_fake.count("cancel") == 1
    assert runcomfy_fake.jobs[request_id_of(runcomfy_fake)].forced == "cancelled"
    # Their own ❌ needs no answer but the status itself: no public message, no ping.
    await discord_fake.wait_for(lambda: discord_fake.bot.id not in status.reactions["❌"])
    assert [m for m in discord_fake.channel_messages() if m.id != status.id] == []
    assert discord_fake.pinged() == {}
    assert status.components == []


async def test_cancel_is_refused_while_rendering_and_the_job_is_delivered(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    await discord_fake.react(status, user=discord_fake.moderator)
    refusal = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "already rendering" in m.content]
    )
    assert refusal[0].pinged_users == {discord_fake.moderator.id}
    assert "full cost" in refusal[0].content
    runcomfy_fake.set_state(rid, "completed")
    await wait_state(discord_fake, status, "Done")


async def test_a_strangers_reaction_is_ignored_and_removed(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await discord_fake.react(status, user=discord_fake.stranger)
    await discord_fake.wait_for(
        lambda: discord_fake.stranger.id not in status.reactions.get("❌", set())
    )
    assert runcomfy_fake.count("cancel") == 0
    assert "Queued" in state_of(status)


async def test_cancel_button_works_after_a_restart(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (custom_id,) = status.custom_ids
    await runner.restart()

    stranger_click = await discord_fake.click(status, custom_id, user=discord_fake.stranger)
    await discord_fake.wait_for(lambda: stranger_click.followup_ids)
    refused = discord_fake.messages[stranger_click.followup_ids[0]]
    assert refused.ephemeral and "Only the person" in refused.content

    click = await discord_fake.click(status, custom_id, user=discord_fake.author)
    await discord_fake.wait_for(lambda: click.followup_ids)
    answer = discord_fake.messages[click.followup_ids[0]]
    assert answer.ephemeral and "Cancelled" in answer.content
    await wait_state(discord_fake, status, "Cancelled")
    assert len(runcomfy_fake.submits) == 1
