"""/animate where the bot is not a member: its user install in a server that never added
it, and a group DM. The interaction's token is all it has there: the status lives on the
original response, Cancel is a button, at most five followups, and after the token's
fifteen minutes the video goes by DM (shared/docs/discord-platform.md)."""

from __future__ import annotations

import pytest

from app.client import AnimateBot
from bot.domain import JobStatus, Reach, Visibility
from tests.cogs.animate.helpers import png, request_id_of, state_of, wait_state
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline

FOLLOWUPS = 5


def places(fake: FakeDiscord) -> dict[str, int]:
    return {"user-install": fake.foreign_channel, "group-dm": fake.group_dm}


def channel_routes(fake: FakeDiscord, channel_id: int) -> list[str]:
    """Requests the bot made to the place's channel with its own token."""
    return [f"{r.method} {r.path}" for r in fake.requests if f"/channels/{channel_id}" in r.path]


def videos_in(fake: FakeDiscord, channel_id: int) -> list[FakeMessage]:
    return [
        m
        for m in fake.messages.values()
        if m.channel_id == channel_id
        and not m.deleted
        and any(a.filename.endswith(".mp4") for a in m.attachments)
    ]


def within_followups(ix: FakeInteraction) -> None:
    assert len(ix.followup_ids) <= FOLLOWUPS and ix.refused_followups == 0


@pytest.mark.parametrize("where", ["user-install", "group-dm"])
async def test_a_job_where_the_bot_is_not_a_member_runs_on_the_token_alone(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, where: str
) -> None:
    channel = places(discord_fake)[where]
    runcomfy_fake.script(Timeline(queue_positions=(2, 1), queue_seconds=0.3, run_seconds=0.2))
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite", channel=channel)
    await discord_fake.wait_for(lambda: ix.original_id)
    status = discord_fake.messages[ix.original_id]  # type: ignore[index]
    assert not status.ephemeral  # public: everyone there sees it
    (video,) = await discord_fake.wait_for(lambda: videos_in(discord_fake, channel), within=10)
    await wait_state(discord_fake, status, "Done")
    # While queued it offered the Cancel button, never a ❌ (no reaction events there).
    assert any("animate:cancel:" in str(e.components) for e in status.edits)
    assert discord_fake.count("PUT", "/reactions/") == 0
    assert discord_fake.count("DELETE", "/reactions/") == 0
    assert channel_routes(discord_fake, channel) == []
    assert all(e.via == "interaction" for e in status.edits)
    assert video.id in ix.followup_ids and not video.ephemeral
    assert discord_fake.pinged().get(video.id) == {discord_fake.author.id}
    within_followups(ix)
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.status is JobStatus.DELIVERED and job.reach is Reach.TOKEN
    assert job.upload_limit == ix.payload["attachment_size_limit"]


@pytest.mark.parametrize("where", ["user-install", "group-dm"])
async def test_after_the_token_expired_the_video_reaches_its_author_by_dm(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, where: str
) -> None:
    channel = places(discord_fake)[where]
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite", channel=channel)
    await discord_fake.wait_for(lambda: runcomfy_fake.submits)
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    await discord_fake.wait_for(lambda: "Queued" in state_of(status))
    discord_fake.expire(ix)  # fifteen minutes in the queue
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    (dm,) = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.dms(discord_fake.author) if m.attachments], within=10
    )
    assert dm.attachments[0].filename.endswith(".mp4")
    assert channel_routes(discord_fake, channel) == []
    assert discord_fake.count("PUT", "/reactions/") == 0
    assert videos_in(discord_fake, channel) == []
    within_followups(ix)
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.status is JobStatus.DELIVERED and job.delivered_message_id == dm.id
    # /history has it, there too (every command of the bot is installable to a user).
    history = await discord_fake.invoke("history", channel=channel)
    await discord_fake.wait_for(lambda: history.response_type is not None)
    shown = discord_fake.messages[history.original_id]  # type: ignore[index]
    assert shown.ephemeral and "a kite" in str(shown.embeds)


async def test_cancel_there_is_the_button_and_a_reaction_is_never_heard(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="a kite", channel=discord_fake.group_dm
    )
    await discord_fake.wait_for(lambda: runcomfy_fake.submits)
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    await discord_fake.wait_for(lambda: "Queued" in state_of(status))
    assert "❌" not in status.reactions
    # A ❌ there reaches nobody: Discord sends no gateway event from a group DM.
    await discord_fake.react(status)
    (cancel,) = [c for c in status.custom_ids if c.startswith("animate:cancel:")]
    pressed = await discord_fake.click(status, cancel)
    await wait_state(discord_fake, status, "Cancelled")
    await discord_fake.wait_for(lambda: pressed.followup_ids)
    assert "cancelled" in discord_fake.messages[pressed.followup_ids[-1]].content.lower()
    assert channel_routes(discord_fake, discord_fake.group_dm) == []
    within_followups(ix)


async def test_a_server_that_denies_external_apps_gets_a_private_flow_and_is_told(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.foreign_external_apps = False
    runcomfy_fake.script(Timeline(queue_seconds=0.2, run_seconds=0.1))
    channel = discord_fake.foreign_channel
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite", channel=channel)
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    (video,) = await discord_fake.wait_for(lambda: videos_in(discord_fake, channel), within=10)
    await wait_state(discord_fake, status, "Done")
    assert status.ephemeral and video.ephemeral
    # Told honestly, on the status message itself (no followup spent on it).
    assert "only you" in str(status.embeds).lower()
    # Nothing to post publicly where the server forbids it: no "Post to channel".
    assert not any(c.startswith("animate:share:") for c in video.custom_ids)
    seen_by_stranger = discord_fake.visible_to(discord_fake.stranger)
    assert status not in seen_by_stranger and video not in seen_by_stranger
    within_followups(ix)
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.visibility is Visibility.FORCED_PRIVATE


async def test_a_servers_settings_do_not_apply_where_it_never_added_the_bot(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # A server may once have added the bot and paused it; its members' own installs
    # answer to the operator's limits alone.
    await bot.jobs.store.change_guild_settings(
        discord_fake.foreign_guild_id, by=None, at=0.0, paused=True, daily_spend_cap_usd=0.01
    )
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    channel = discord_fake.foreign_channel
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite", channel=channel)
    await discord_fake.wait_for(lambda: videos_in(discord_fake, channel), within=10)
    assert ix.response_type == 5
    # Its usage report counts only what its own install started.
    report = await bot.jobs.store.usage_report(discord_fake.foreign_guild_id, since=0.0)
    assert report.jobs == 0


async def test_every_command_says_where_it_may_be_installed_and_used(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    everywhere = {"animate", "Animate", "history", "history-clear", "about", "animate-settings"}
    synced = {c["name"]: c for c in discord_fake.commands[None]}
    for name in everywhere:
        assert synced[name]["integration_types"] == [0, 1], name
        assert synced[name]["contexts"] == [0, 1, 2], name
    assert synced["admin"]["integration_types"] == [0]
    assert synced["admin"]["contexts"] == [0]


async def test_the_animate_menu_works_in_a_group_dm_and_offers_the_spoiler_alone(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    channel = discord_fake.group_dm
    posted = discord_fake.post("look", channel=channel, files=(("cat.png", png()),))
    ix = await discord_fake.invoke_message_command("Animate", posted)
    await discord_fake.wait_for(lambda: ix.modal)
    assert ix.modal is not None
    prompt_id = ix.modal["components"][0]["components"][0]["custom_id"]
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    form = await discord_fake.submit_modal(ix, {prompt_id: "the cat yawns"})
    (video,) = await discord_fake.wait_for(lambda: videos_in(discord_fake, channel), within=10)
    # Again, Remix, Higher and Extend read the status message through the channel: not
    # offered where the bot has none.
    assert [c.split(":")[1] for c in video.custom_ids] == ["spoiler"]
    assert channel_routes(discord_fake, channel) == []
    within_followups(form)
