"""/history's link to a video posted where the bot has no channel: a DM's link opens the
DM (`@me`), and a private render's video, an ephemeral message no link can open, is
offered by its download link instead."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, request_id_of, state_of
from tests.cogs.animate.test_private import private_video
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def history_page(fake: FakeDiscord) -> str:
    (embed,) = (await reply(fake, await fake.invoke("history"))).embeds
    return str(embed)


async def test_a_video_sent_by_dm_is_linked_in_the_dm(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    channel = discord_fake.foreign_channel  # its user install, in a server without the bot
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite", channel=channel)
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    await discord_fake.wait_for(lambda: "Queued" in state_of(status))
    discord_fake.expire(ix)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    (dm,) = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.dms(discord_fake.author) if m.attachments], within=10
    )
    page = await history_page(discord_fake)
    assert f"https://discord.com/channels/@me/{dm.channel_id}/{dm.id}" in page


async def test_a_private_videos_history_offers_its_download_not_a_dead_link(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, _, video = await private_video(discord_fake, runcomfy_fake, private=True)
    assert video.ephemeral
    page = await history_page(discord_fake)
    assert str(video.id) not in page
    assert runcomfy_fake.video_url(request_id_of(runcomfy_fake)) in page
