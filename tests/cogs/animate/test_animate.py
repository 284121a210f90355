"""/animate end to end: the real bot, the real discord.py and httpx, both fakes."""

from __future__ import annotations

import json

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import (
    embed_field,
    png,
    start_queued,
    state_of,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_happy_path_with_every_option(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_positions=(3, 2, 1), queue_seconds=0.6, run_seconds=0.4))
    ix = await discord_fake.invoke(
        "animate",
        image=png(),
        prompt="the waves roll in",
        resolution="720p",
        ratio="16:9",
        duration=8,
        audio=False,
        camera_fixed=False,
    )
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 5 and not ix.ephemeral  # a public defer
    assert ix.ack_seconds is not None and ix.ack_seconds < 1.0

    delivered = await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.channel_messages()
            if m.attachments and m.attachments[0].filename.endswith(".mp4")
        ],
        within=10,
    )
    assert runcomfy_fake.submits and len(runcomfy_fake.submits) == 1
    submitted = runcomfy_fake.submits[0]
    assert set(submitted) == {
        "prompt",
        "first_frame_image_url",
        "resolution",
        "ratio",
        "duration",
        "generate_audio",
        "camera_fixed",
    }
    assert submitted["prompt"] == "the waves roll in"
    assert (submitted["resolution"], submitted["ratio"], submitted["duration"]) == (
        "720p",
        "16:9",
        8,
    )
    assert submitted["generate_audio"] is False and submitted["camera_fixed"] is False

    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Done")
    states = [json.dumps(e.embeds) for e in status.edits]
    assert any("Queued" in s for s in states) and any("Rendering" in s for s in states)
    assert "Done" in embed_field(status, "State")
    # Once it cannot be cancelled, the bot takes its own ❌ back (issue 14).
    assert discord_fake.bot.id not in status.reactions.get("❌", set())
    assert discord_fake.count("DELETE", "/reactions/") >= 1
    assert status.components == []  # no Cancel button once final

    (video,) = delivered
    request_id = next(iter(runcomfy_fake.jobs))
    assert video.attachments[0].data == FakeRunComfy.video_bytes(request_id, Timeline().video_size)
    assert video.id in ix.followup_ids  # a followup of the command, while it is fresh
    assert discord_fake.pinged() == {video.id: {discord_fake.author.id}}

    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.status is JobStatus.DELIVERED and job.delivered_message_id == video.id


async def test_quota_refusals_say_which_limit(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_concurrent=1, quota_user_daily=2, quota_global_concurrent=2)
    author, stranger = discord_fake.author, discord_fake.stranger

    async def refusal(user) -> str:  # type: ignore[no-untyped-def]
        ix = await discord_fake.invoke("animate", image=png(), prompt="p", user=user)
        await discord_fake.wait_for(lambda: ix.response_type is not None)
        assert ix.response_type == 4 and ix.ephemeral
        return discord_fake.messages[ix.original_id].content

    _, first_status = await start_queued(discord_fake, runcomfy_fake)
    assert "in progress" in await refusal(author)

    await start_queued(discord_fake, runcomfy_fake, user=stranger)
    assert "already making" in await refusal(discord_fake.moderator)

    # Free the author's slot (a finished render is charged); the second job of the
    # day is allowed, the third is not.
    first = (await bot.jobs.store.list_for_user(author.id))[0]
    runcomfy_fake.set_state(first.request_id, "completed")  # type: ignore[arg-type]
    await discord_fake.wait_for(lambda: "Done" in state_of(first_status))
    _, second_status = await start_queued(discord_fake, runcomfy_fake)
    second = (await bot.jobs.store.list_for_user(author.id))[0]
    runcomfy_fake.set_state(second.request_id, "completed")  # type: ignore[arg-type]
    await discord_fake.wait_for(lambda: "Done" in state_of(second_status))
    daily = await refusal(author)
    assert (
        "2 videos in the last 24 hours" in daily
        and f"<t:{int(first.created_at) + 86400}:R>" in daily
    )
    assert len(runcomfy_fake.submits) == 3
