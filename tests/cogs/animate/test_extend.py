"""Extend: a new job from the delivered video's last frame, once per press."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import av
from PIL import Image, ImageChops, ImageStat

from app.client import AnimateBot
from bot import i18n, video
from bot.domain import JobStatus
from bot.images.budget import DECODING
from cogs.animate.continuations import ALREADY_EXTENDED
from tests.cogs.animate.helpers import png
from tests.fakes import media
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import settings_for_fakes
from tests.fakes.media import Clip
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline

CLIP = Clip(seconds=2.0)


def delivered(fake: FakeDiscord) -> list[FakeMessage]:
    return [
        m for m in fake.channel_messages() if m.attachments and "your video is ready" in m.content
    ]


def decoded_last_frame(data: bytes) -> Image.Image:
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(container.streams.video[0]))
    return frames[-1].to_image().convert("RGB")


def extend_id(message: FakeMessage) -> str:
    return next(c for c in message.custom_ids if c.startswith("animate:extend:"))


def button(message: FakeMessage) -> dict[str, object]:
    """The Extend button among the buttons under the video."""
    return next(
        c
        for row in message.components
        for c in row["components"]
        if str(c.get("custom_id", "")).startswith("animate:extend:")
    )


async def test_extend_starts_one_job_from_the_last_frame(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    data = media.clip_bytes(tmp_path, CLIP)
    runcomfy_fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, media=data),
        Timeline(manual=True),  # the extension stays queued: one job is enough to check
    )
    await discord_fake.invoke(
        "animate", image=png(), prompt="a cat yawns", resolution="720p", duration=6
    )
    (first,) = await discord_fake.wait_for(lambda: delivered(discord_fake), within=30)
    custom_id = extend_id(first)
    assert (
        custom_id
        == f"animate:extend:{(await bot.jobs.store.list_for_user(discord_fake.author.id))[0].id}"
    )

    # Two presses at once (a double click, or two people): one job.
    presses = await asyncio.gather(
        discord_fake.click(first, custom_id), discord_fake.click(first, custom_id)
    )
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
    await discord_fake.wait_for(lambda: all(p.response_type for p in presses), within=10)
    refused = [p for p in presses if p.ephemeral]
    assert len(refused) == 1
    assert discord_fake.messages[refused[0].original_id].content == i18n.english()(ALREADY_EXTENDED)
    await discord_fake.wait_for(lambda: button(first).get("disabled") is True, within=10)

    submitted = runcomfy_fake.submits[1]
    assert submitted["prompt"] == "a cat yawns"
    assert (submitted["resolution"], submitted["duration"]) == ("720p", 6)
    hosted = next(
        a
        for m in discord_fake.messages.values()
        for a in m.attachments
        if a.url == submitted["first_frame_image_url"]
    )
    sent = Image.open(io.BytesIO(hosted.data)).convert("RGB")
    expected = decoded_last_frame(first.attachments[0].data).resize(sent.size)
    difference = ImageStat.Stat(ImageChops.difference(sent, expected)).mean
    assert max(difference) < 4, difference
    # ...and not merely any frame of the clip: the first one is far away.
    first_colour = media.colour_at(0, round(CLIP.seconds * media.FPS))
    assert max(abs(a - b) for a, b in zip(sent.getpixel((5, 5)), first_colour, strict=True)) > 100

    jobs = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert len(jobs) == 2
    source = next(j for j in jobs if j.status is JobStatus.DELIVERED)
    assert source.extended_at is not None
    await until_reacted(discord_fake, next(p for p in presses if not p.ephemeral))


async def until_reacted(fake: FakeDiscord, press: FakeInteraction) -> None:
    """An extension's last steps are the bot's ❌, then greying the video's Extend: wait
    for both so no task outlives the test."""
    await fake.wait_for(
        lambda: press.original_id and "❌" in fake.messages[press.original_id].reactions, within=10
    )
    video = fake.messages[int(press.payload["message"]["id"])]
    await fake.wait_for(lambda: button(video).get("disabled") is True, within=10)


async def test_extend_survives_a_restart(
    runner,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    await runner.start()
    runcomfy_fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, media=media.clip_bytes(tmp_path, CLIP)),
        Timeline(manual=True),
    )
    await discord_fake.invoke("animate", image=png(), prompt="p")
    (first,) = await discord_fake.wait_for(lambda: delivered(discord_fake), within=30)
    await runner.restart()
    press = await discord_fake.click(first, extend_id(first))
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
    assert press.response_type == 5 and not press.ephemeral
    await until_reacted(discord_fake, press)


async def test_extend_decodes_its_last_frame_within_the_processs_decoding_budget(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    runcomfy_fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, media=media.clip_bytes(tmp_path, CLIP)),
        Timeline(manual=True),
    )
    await discord_fake.invoke("animate", image=png(), prompt="p")
    (first,) = await discord_fake.wait_for(lambda: delivered(discord_fake), within=30)
    # The budget all taken: the last frame (fitted, so decoded) waits its turn in it.
    async with DECODING.reserve(DECODING.capacity, within=1):
        press = await discord_fake.click(first, extend_id(first))
        await discord_fake.wait_for(lambda: DECODING.waiting == 1, within=10)
        await asyncio.sleep(0.2)
        assert len(runcomfy_fake.submits) == 1
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
    assert press.response_type == 5 and not press.ephemeral
    await until_reacted(discord_fake, press)
    assert DECODING.held == 0


async def test_join_delivers_the_extension_and_its_source_as_one_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    data = media.clip_bytes(tmp_path, CLIP)
    fast = Timeline(queue_seconds=0.05, run_seconds=0.05, media=data)
    runcomfy_fake.script(fast, fast)
    await discord_fake.invoke("animate", image=png(), prompt="p")
    (first,) = await discord_fake.wait_for(lambda: delivered(discord_fake), within=30)
    assert not any(c.startswith("animate:join:") for c in first.custom_ids)  # not an extension
    press = await discord_fake.click(first, extend_id(first))
    (second,) = await discord_fake.wait_for(
        lambda: [m for m in delivered(discord_fake) if m.id != first.id], within=30
    )
    await until_reacted(discord_fake, press)
    join_id = next(c for c in second.custom_ids if c.startswith("animate:join:"))

    stranger = await discord_fake.click(second, join_id, user=discord_fake.add_user("stranger"))
    await discord_fake.wait_for(lambda: stranger.response_type is not None)
    assert stranger.ephemeral

    ix = await discord_fake.click(second, join_id)
    joined = await discord_fake.wait_for(
        lambda: ix.original_id and discord_fake.messages[ix.original_id].attachments, within=30
    )
    path = tmp_path / "joined.mp4"
    path.write_bytes(joined[0].data)
    assert video.plays_inline(video.probe(path))
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert len(frames) == 2 * round(CLIP.seconds * media.FPS)
    assert ix.original_id not in discord_fake.pinged()


async def test_an_extend_cut_by_a_crash_can_be_pressed_again_after_the_restart(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    # Killed while the extension read the video's last frame (before its job existed),
    # the video stayed "Extended" for good: greyed, and "already extended" if pressed.
    settings = settings_for_fakes(discord_fake, runcomfy_fake, tmp_path / "bot.db")
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    data = media.clip_bytes(tmp_path, CLIP)
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05, media=data))
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    (first,) = await discord_fake.wait_for(lambda: delivered(discord_fake), within=30)
    discord_fake.cdn_latency = 30.0  # the video's download for its last frame hangs
    await discord_fake.click(first, extend_id(first))
    await discord_fake.wait_for(lambda: discord_fake.cdn_in_flight == 1, within=10)
    await bot.kill()
    discord_fake.release_cdn()

    await bot.start()
    try:
        assert button(first).get("disabled") is not True
        runcomfy_fake.script(Timeline(manual=True))
        press = await discord_fake.click(first, extend_id(first))
        await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
        assert press.response_type == 5 and not press.ephemeral
        await discord_fake.wait_for(lambda: button(first).get("disabled") is True, within=10)
        await until_reacted(discord_fake, press)
    finally:
        await bot.stop()
