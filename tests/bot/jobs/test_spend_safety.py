"""Spend safety at the edges (issue 12, items 1-4), end to end through both fakes.

Clearing history cannot reset a quota or orphan a live job; the daily quota counts
only what costs money; a job is cancelled at RunComfy once however many people
press; one press of a button that starts a billed job starts one job.
"""

from __future__ import annotations

import asyncio
import json

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import (
    png,
    request_id_of,
    start_queued,
    status_message,
    wait_state,
)
from tests.cogs.test_history import component, custom_id, job_numbers, press, reply
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def refusal(fake: FakeDiscord) -> str:
    """Run /animate and return the ephemeral refusal it must get."""
    ix = await fake.invoke("animate", image=png(), prompt="one more")
    await fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral, "the job was accepted"
    return fake.messages[ix.original_id].content  # type: ignore[index]


def told(fake: FakeDiscord, ix: FakeInteraction) -> str:
    return " ".join(fake.messages[m].content for m in ix.followup_ids)


# -- 1. /history-clear keeps live jobs and quotas ---------------------------------


async def test_clear_hides_finished_jobs_but_keeps_live_ones_and_the_quota(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_daily=3)
    author = discord_fake.author
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    done = await discord_fake.invoke("animate", image=png(), prompt="a secret prompt")
    await discord_fake.wait_for(lambda: done.original_id)
    await wait_state(discord_fake, status_message(discord_fake, done), "Done")
    _, live = await start_queued(discord_fake, runcomfy_fake)
    before = await bot.jobs.store.quota_usage(author.id, since=0)

    ask = await reply(discord_fake, await discord_fake.invoke("history-clear"))
    assert "1 finished video" in ask.content and "in progress" in ask.content
    await press(discord_fake, ask, "Delete my finished videos")
    assert "1 finished video" in ask.content

    # The quota is exactly what it was; the live job is still listed and tracked.
    assert await bot.jobs.store.quota_usage(author.id, since=0) == before
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    (live_job,) = await bot.jobs.store.list_for_user(author.id, limit=50)
    assert job_numbers(page) == [live_job.id]
    assert "a secret prompt" not in json.dumps(page.embeds)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, live, "Done")
    delivered = await bot.jobs.store.get(live_job.id)  # type: ignore[arg-type]
    assert delivered is not None and delivered.status is JobStatus.DELIVERED
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    assert job_numbers(page) == [live_job.id]

    # Clearing again cannot free a daily slot either: 2 used of 3, then 3 of 3.
    await press(
        discord_fake,
        await reply(discord_fake, await discord_fake.invoke("history-clear")),
        "Delete my finished videos",
    )
    await start_queued(discord_fake, runcomfy_fake)
    assert "3 videos in the last 24 hours" in await refusal(discord_fake)
    assert len(runcomfy_fake.submits) == 3


# -- 2. the daily quota counts what costs money -------------------------------------


async def test_uncharged_jobs_do_not_use_up_the_daily_quota(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(quota_user_daily=2)
    # Cancelled while queued: not charged.
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await discord_fake.react(status, user=discord_fake.author)
    await wait_state(discord_fake, status, "Cancelled")
    # Refused by the service before it accepted the job: not charged.
    runcomfy_fake.inject("submit", "balance")
    refused = await discord_fake.invoke("animate", image=png(), prompt="refused")
    await discord_fake.wait_for(lambda: refused.original_id)
    await wait_state(discord_fake, status_message(discord_fake, refused), "Failed")
    # An ambiguous submit may have been charged: it counts.
    runcomfy_fake.inject("submit", "submit_500_after_create")
    lost = await discord_fake.invoke("animate", image=png(), prompt="lost")
    await discord_fake.wait_for(lambda: lost.original_id)
    await wait_state(discord_fake, status_message(discord_fake, lost), "Lost")
    # So one slot of two is used: one more job, then the daily limit.
    await start_queued(discord_fake, runcomfy_fake)
    assert "2 videos in the last 24 hours" in await refusal(discord_fake)


# -- 3. one cancel per job -----------------------------------------------------------


async def test_cancel_button_twice_and_reaction_at_once_send_one_cancel(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (cancel_id,) = status.custom_ids
    author, moderator = discord_fake.author, discord_fake.moderator
    clicks = await asyncio.gather(
        discord_fake.click(status, cancel_id, user=author),
        discord_fake.click(status, cancel_id, user=moderator),
        discord_fake.react(status, user=author),
    )
    first, second = clicks[0], clicks[1]
    assert first is not None and second is not None
    await discord_fake.wait_for(lambda: first.followup_ids and second.followup_ids, within=10)
    await wait_state(discord_fake, status, "Cancelled")
    assert runcomfy_fake.count("cancel") == 1
    answers = [told(discord_fake, first), told(discord_fake, second)]
    # Whoever came first (a button or the reaction) cancelled; the others are told so.
    assert all(a.startswith("Cancelled.") or "already cancelled" in a for a in answers), answers
    assert sum(a.startswith("Cancelled.") for a in answers) <= 1, answers
    assert any("already cancelled" in a for a in answers), answers
    everything = " ".join(m.content for m in discord_fake.messages.values())
    assert "already rendering" not in everything and "billed" not in everything

    # A later ❌ (the button is gone by now) is told the same; RunComfy is not asked again.
    await discord_fake.react(status, user=moderator)
    late = await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.channel_messages()
            if "already cancelled" in m.content and m.pinged_users == {moderator.id}
        ]
    )
    assert late[0].reference_id == status.id
    assert runcomfy_fake.count("cancel") == 1


async def test_a_cancel_runcomfy_does_not_answer_says_so(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot.jobs.runcomfy._backoff_base = 0.001  # retries as configured, only faster
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (cancel_id,) = status.custom_ids
    runcomfy_fake.inject("cancel", "503", times=50)
    click = await discord_fake.click(status, cancel_id)
    await discord_fake.wait_for(lambda: click.followup_ids, within=10)
    answer = told(discord_fake, click)
    assert "could not reach the video service" in answer and "try again" in answer
    assert "Queued" in embed_state(status)


def embed_state(message: FakeMessage) -> str:
    return json.dumps(message.embeds)


# -- 4. one press, one job -------------------------------------------------------------


async def test_animate_again_pressed_twice_at_once_starts_one_job(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await start_queued(discord_fake, runcomfy_fake)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    await bot.jobs.cancel(job.id, actor_id=discord_fake.author.id, actor_is_moderator=False)  # type: ignore[arg-type]
    runcomfy_fake.script(Timeline(manual=True), Timeline(manual=True))
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    again_id = custom_id(detail, "Animate again")
    presses = await asyncio.gather(
        discord_fake.click(detail, again_id), discord_fake.click(detail, again_id)
    )
    await discord_fake.wait_for(lambda: all(p.response_type is not None for p in presses))
    kinds = sorted(p.response_type for p in presses)  # type: ignore[type-var]
    assert kinds == [4, 5], "both presses started a job"
    started = next(p for p in presses if p.response_type == 5)
    refused = next(p for p in presses if p.response_type == 4)
    assert discord_fake.messages[refused.original_id].ephemeral  # type: ignore[index]
    new_status = status_message(discord_fake, started)
    await discord_fake.wait_for(
        lambda: discord_fake.bot.id in new_status.reactions.get("❌", ()), within=10
    )
    assert len(runcomfy_fake.submits) == 2
    # The button is disabled on the message; a stale press later starts nothing.
    await discord_fake.wait_for(lambda: component(detail, "Animate again").get("disabled"))
    stale = await discord_fake.click(detail, again_id)
    await discord_fake.wait_for(lambda: stale.response_type is not None)
    assert stale.response_type == 4 and len(runcomfy_fake.submits) == 2


async def test_animate_again_from_the_list_stays_one_press_and_a_refusal_frees_it(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_concurrent=1)
    await start_queued(discord_fake, runcomfy_fake)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    await press(discord_fake, page, "select", values=[str(job.id)])

    # The job still runs, so the concurrent quota refuses: nothing starts, the press is free.
    refused = await press(discord_fake, page, "Animate again")
    assert refused.response_type == 4 and "in progress" in told_or_said(discord_fake, refused)
    assert not component(page, "Animate again").get("disabled")
    await bot.jobs.cancel(job.id, actor_id=discord_fake.author.id, actor_is_moderator=False)  # type: ignore[arg-type]

    runcomfy_fake.script(Timeline(manual=True))
    started = await press(discord_fake, page, "Animate again")
    assert started.response_type == 5
    new_status = status_message(discord_fake, started)
    await discord_fake.wait_for(
        lambda: discord_fake.bot.id in new_status.reactions.get("❌", ()), within=10
    )
    # Disabled on the message (edited through the menu's interaction) ...
    assert component(page, "Animate again").get("disabled")
    # ... and still disabled when the same job is picked again on the same message.
    await press(discord_fake, page, "Back to the list")
    await press(discord_fake, page, "select", values=[str(job.id)])
    assert component(page, "Animate again").get("disabled")
    assert len(runcomfy_fake.submits) == 2


def told_or_said(fake: FakeDiscord, ix: FakeInteraction) -> str:
    return fake.messages[ix.original_id].content if ix.original_id else told(fake, ix)  # type: ignore[index]
