"""Private renders (`private:true`, or a remembered default), Post to channel, and
marking a delivered video as a spoiler."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.client import AnimateBot
from bot.domain import Visibility
from tests.cogs.animate.helpers import png, wait_state
from tests.cogs.animate.test_anywhere import videos_in
from tests.cogs.test_history import press, reply
from tests.fakes.discord import SEND_MESSAGES, FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def private_video(
    fake: FakeDiscord, runcomfy: FakeRunComfy, **options: object
) -> tuple[FakeInteraction, FakeMessage, FakeMessage]:
    """A finished private render: its command, status message and video message."""
    runcomfy.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    ix = await fake.invoke("animate", image=png(), prompt="a lighthouse at dusk", **options)
    status = fake.messages[await fake.wait_for(lambda: ix.original_id)]
    (video,) = await fake.wait_for(lambda: videos_in(fake, fake.general), within=10)
    await wait_state(fake, status, "Done")
    return ix, status, video


def share_id(message: FakeMessage) -> str:
    (custom_id,) = [c for c in message.custom_ids if c.startswith("animate:share:")]
    return custom_id


def public_videos(fake: FakeDiscord) -> list[FakeMessage]:
    return [m for m in videos_in(fake, fake.general) if not m.ephemeral]


async def answer_of(fake: FakeDiscord, ix: FakeInteraction) -> str:
    await fake.wait_for(lambda: ix.response_type is not None)
    message_id = ix.followup_ids[-1] if ix.followup_ids else ix.original_id
    return fake.messages[message_id].content  # type: ignore[index]


async def test_a_private_render_is_seen_by_its_author_alone_until_posted_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status, video = await private_video(discord_fake, runcomfy_fake, private=True)
    assert status.ephemeral and video.ephemeral
    assert "❌" not in status.reactions  # an ephemeral message carries no reactions
    stranger_sees = discord_fake.visible_to(discord_fake.stranger)
    assert status not in stranger_sees and video not in stranger_sees
    assert video in discord_fake.visible_to(discord_fake.author)
    assert public_videos(discord_fake) == []
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.visibility is Visibility.PRIVATE
    charged = len(runcomfy_fake.submits)

    # Post to channel: the same file, once, public, with the prompt and a credit, no ping.
    press = await discord_fake.click(video, share_id(video))
    (posted,) = await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    assert posted.attachments[0].data == video.attachments[0].data
    assert "a lighthouse at dusk" in posted.content
    assert f"<@{discord_fake.author.id}>" in posted.content
    assert discord_fake.pinged().get(posted.id) is None
    assert posted in discord_fake.visible_to(discord_fake.stranger)
    assert len(runcomfy_fake.submits) == charged  # no new render, no new charge
    await discord_fake.wait_for(lambda: press.response_type is not None)

    # A second press posts nothing more.
    again = await discord_fake.click(video, share_id(video))
    assert "already" in (await answer_of(discord_fake, again)).lower()
    await asyncio.sleep(0.2)
    assert len(public_videos(discord_fake)) == 1


async def test_a_double_press_of_post_to_channel_posts_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, _, video = await private_video(discord_fake, runcomfy_fake, private=True)
    custom_id = share_id(video)
    first, second = await asyncio.gather(
        discord_fake.click(video, custom_id), discord_fake.click(video, custom_id)
    )
    await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    await discord_fake.wait_for(lambda: first.response_type and second.response_type)
    await asyncio.sleep(0.3)
    assert len(public_videos(discord_fake)) == 1


async def test_post_to_channel_is_refused_where_the_author_may_not_send(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, _, video = await private_video(discord_fake, runcomfy_fake, private=True)
    discord_fake.deny(discord_fake.author, discord_fake.general, SEND_MESSAGES)
    press = await discord_fake.click(video, share_id(video))
    assert "send messages" in (await answer_of(discord_fake, press)).lower()
    await asyncio.sleep(0.2)
    assert public_videos(discord_fake) == []


async def test_post_to_channel_after_clearing_the_history_says_so_truly(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # It answered "/history still has its link", just after /history-clear removed it.
    _, _, video = await private_video(discord_fake, runcomfy_fake, private=True)
    ask = await reply(discord_fake, await discord_fake.invoke("history-clear"))
    await press(discord_fake, ask, "Delete my finished videos")
    shared = await discord_fake.click(video, share_id(video))
    said = await answer_of(discord_fake, shared)
    assert "no longer in your history" in said and "/history" not in said
    await asyncio.sleep(0.2)
    assert public_videos(discord_fake) == []


async def test_the_private_default_is_remembered_and_the_option_overrides_it(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    settings = await discord_fake.invoke("animate-settings", private=True)
    assert "only you" in (await answer_of(discord_fake, settings)).lower()
    _, status, video = await private_video(discord_fake, runcomfy_fake)
    assert status.ephemeral and video.ephemeral
    # The option wins over the default, for that command.
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    public = await discord_fake.invoke("animate", image=png(), prompt="p", private=False)
    await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    assert not discord_fake.messages[public.original_id].ephemeral  # type: ignore[index]
    shown = await discord_fake.invoke("animate-settings")
    assert "only you" in (await answer_of(discord_fake, shown)).lower()


# -- spoilers ------------------------------------------------------------------


def spoiler_button(message: FakeMessage) -> str:
    (custom_id,) = [
        c for c in message.custom_ids if c.startswith(("animate:spoiler:", "animate:unspoiler:"))
    ]
    return custom_id


async def test_the_author_and_a_moderator_toggle_the_spoiler_and_others_may_not(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await discord_fake.invoke("animate", image=png(), prompt="a jump scare")
    (video,) = await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    data = video.attachments[0].data
    assert not video.attachments[0].spoiler

    refused = await discord_fake.click(video, spoiler_button(video), user=discord_fake.stranger)
    assert "only" in (await answer_of(discord_fake, refused)).lower()
    assert not video.attachments[0].spoiler

    await discord_fake.click(video, spoiler_button(video), user=discord_fake.author)
    await discord_fake.wait_for(lambda: video.attachments and video.attachments[0].spoiler)
    assert video.attachments[0].data == data  # the same video, only hidden
    await discord_fake.wait_for(lambda: spoiler_button(video).startswith("animate:unspoiler:"))

    await discord_fake.click(video, spoiler_button(video), user=discord_fake.moderator)
    await discord_fake.wait_for(lambda: not video.attachments[0].spoiler)
    await discord_fake.wait_for(lambda: spoiler_button(video).startswith("animate:spoiler:"))
    # The video's other buttons are still there.
    assert any(c.startswith("animate:again:") for c in video.custom_ids)


async def test_pressing_again_keeps_the_videos_spoiler_button(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await discord_fake.invoke("animate", image=png(), prompt="a jump scare")
    (video,) = await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    await discord_fake.click(video, spoiler_button(video))
    await discord_fake.wait_for(lambda: spoiler_button(video).startswith("animate:unspoiler:"))
    edits = len(video.edits)
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    (again,) = [c for c in video.custom_ids if c.startswith("animate:again:")]
    await discord_fake.click(video, again, user=discord_fake.stranger)
    # Greyed while the new video starts, then offered again: the spoiler's state stays.
    await discord_fake.wait_for(lambda: len(video.edits) >= edits + 2, within=10)
    assert spoiler_button(video).startswith("animate:unspoiler:")
    await discord_fake.wait_for(lambda: len(public_videos(discord_fake)) == 2, within=10)


async def test_a_storm_of_spoiler_presses_on_a_big_video_holds_little_memory(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """Each press fetched the whole video into memory to upload it again: ten presses by
    its author on a 60 MB video took the bot process from 0.12 to 1.26 GB."""
    big = 60 * 1024 * 1024
    discord_fake.upload_limit = 100 * 1024 * 1024  # a boosted server: the video fits
    settings = settings_for_fakes(discord_fake, runcomfy_fake, tmp_path / "bot.db")
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:
        runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1, video_size=big))
        await discord_fake.invoke(
            "animate", image=png(), prompt="a jump scare", attachment_size_limit=big * 2
        )
        (video,) = await discord_fake.wait_for(lambda: public_videos(discord_fake), within=30)
        await discord_fake.wait_for(lambda: bot.memory()["VmRSS"] < 300_000_000, within=10)
        before = bot.memory()["VmHWM"]
        custom_id = spoiler_button(video)
        presses = await asyncio.gather(
            *(
                discord_fake.click(video, custom_id, attachment_size_limit=big * 2)
                for _ in range(10)
            )
        )
        await discord_fake.wait_for(
            lambda: all(ix.response_type for ix in presses) and video.attachments[0].spoiler,
            within=30,
        )
        await discord_fake.wait_for(lambda: spoiler_button(video).startswith("animate:unspoiler:"))
        peak = bot.memory()["VmHWM"]
    finally:
        await bot.stop()
    assert video.attachments[0].size == big
    assert peak - before < 100_000_000, f"{(peak - before) / 1e6:.0f} MB more at the peak"
    assert "Traceback" not in (tmp_path / "bot.log").read_text()
