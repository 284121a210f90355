"""/animate when Discord fails it: expired tokens, upload limits, deleted messages, mentions."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import png, request_id_of, start_queued, status_message, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_edits_move_to_the_channel_route_when_the_token_expires(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.expire(ix)  # type: ignore[arg-type]
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    runcomfy_fake.set_state(rid, "completed")
    await wait_state(discord_fake, status, "Done")
    vias = [e.via for e in status.edits]
    assert vias[0] == "interaction" and vias[-1] == "channel"
    assert any(
        m.attachments and m.attachments[0].filename.endswith(".mp4")
        for m in discord_fake.channel_messages()
    )


async def test_video_over_the_upload_limit_is_linked(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1, video_size=3 * 1024 * 1024))
    discord_fake.upload_limit = 2 * 1024 * 1024
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="p", attachment_size_limit=2 * 1024 * 1024
    )
    link = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "upload limit" in m.content],
        within=10,
    )
    rid = request_id_of(runcomfy_fake)
    assert runcomfy_fake.video_url(rid) in link[0].content and "2.0 MB" in link[0].content
    assert link[0].pinged_users == {discord_fake.author.id}
    await wait_state(discord_fake, status_message(discord_fake, ix), "Done")


async def test_413_from_discord_falls_back_to_a_link(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The interaction said 10 MiB but the channel takes less: Discord answers 413 (the
    # command is past its lifetime, so the video goes by the channel).
    discord_fake.upload_limit = 1000
    ix, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.expire(ix)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    assert any(r.status == 413 for r in discord_fake.requests)
    links = [m for m in discord_fake.channel_messages() if "upload limit" in m.content]
    assert len(links) == 1


async def test_deleted_status_message_still_delivers(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.expire(ix)  # type: ignore[arg-type]
    discord_fake.delete(status)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    video = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if m.attachments], within=10
    )
    assert video[0].reference_id is None and video[0].pinged_users == {discord_fake.author.id}
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    await discord_fake.wait_for(lambda: True)
    assert job.status in (JobStatus.COMPLETED, JobStatus.DELIVERED)


async def test_a_status_message_deleted_while_queued_is_edited_no_more_and_logs_no_error(
    bot: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A moderator deletes it (routine): every later change was one more PATCH answered
    # "Unknown Message" and one more ERROR with a traceback in the log.
    _, status = await start_queued(discord_fake, runcomfy_fake)
    discord_fake.delete(status)
    rid = request_id_of(runcomfy_fake)
    for position in (4, 3, 2, 1):
        runcomfy_fake.set_state(rid, "in_queue", queue_position=position)
        await asyncio.sleep(0.3)
    runcomfy_fake.set_state(rid, "completed")
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if m.attachments], within=10
    )
    unknown = [r for r in discord_fake.requests if r.status == 404 and "/messages/" in r.path]
    assert len(unknown) <= 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unreachable_channel_and_expired_token_fall_back_to_a_dm(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", channel=discord_fake.hidden)
    await discord_fake.wait_for(lambda: runcomfy_fake.submits)
    discord_fake.expire(ix)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    dm = await discord_fake.wait_for(lambda: discord_fake.dms(discord_fake.author), within=10)
    assert dm[0].attachments and dm[0].attachments[0].filename.endswith(".mp4")


async def test_a_prompt_full_of_mentions_pings_nobody(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    prompt = (
        f"@everyone @here <@&{discord_fake.moderator_role}> "
        f"<@{discord_fake.stranger.id}> **bold** dance"
    )
    ix = await discord_fake.invoke("animate", image=png(), prompt=prompt)
    status = await discord_fake.wait_for(
        lambda: ix.original_id and status_message(discord_fake, ix)
    )
    await wait_state(discord_fake, status, "Done")
    video = await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.channel_messages()
            if m.attachments and m.attachments[0].filename.endswith(".mp4")
        ]
    )
    # Only the delivery pinged anybody, and only the author.
    assert discord_fake.pinged() == {video[0].id: {discord_fake.author.id}}
    assert runcomfy_fake.submits[0]["prompt"] == prompt  # the model gets it unchanged
    description = status.embeds[0]["description"]
    assert "\\*\\*bold\\*\\*" in description and "@everyone" not in description.replace(
        "@\u200beveryone", ""
    )
