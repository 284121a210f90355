"""bot/video/ on tiny real MP4s generated at test time (tests/fakes/media.py)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import av
import pytest

from app.client import AnimateBot
from bot import i18n, video
from bot.video import FitFailure, VideoUnreadable
from cogs.history.cog import detail_embed
from tests.cogs.animate.helpers import png, status_message, wait_state
from tests.fakes import media
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.media import Clip
from tests.fakes.runcomfy import FakeRunComfy, Timeline

LIMIT = 256 * 1024  # small, so the noisy clip must be re-encoded to fit


def decoded(path: Path) -> tuple[str, str, float, int, str | None]:
    """Codec, pixel format, duration (from decoded frames), frame count and audio codec."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        fps = float(stream.average_rate)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return (
            stream.codec_context.name,
            frames[0].format.name,
            len(frames) / fps,
            len(frames),
            audio,
        )


@pytest.mark.parametrize(
    ("clip", "inline"),
    [
        (media.H264_FITS, True),
        (media.NO_AUDIO, True),
        (media.H265, False),
        (media.ODD_PIXELS, False),
        (media.NOT_FASTSTART, False),
    ],
    ids=["h264", "no-audio", "h265", "yuv444p", "moov-at-end"],
)
def test_probe_tells_what_plays_inline(tmp_path: Path, clip: Clip, inline: bool) -> None:
    path = media.make_clip(tmp_path / "in.mp4", clip)
    facts = video.probe(path)
    assert facts.is_mp4 and facts.complete
    assert (facts.width, facts.height) == (clip.width, clip.height)
    assert facts.duration == pytest.approx(clip.seconds, abs=0.1)
    assert facts.video_codec == ("hevc" if clip.codec == "libx265" else "h264")
    assert facts.pixel_format == clip.pix_fmt
    assert facts.audio_codec == ("aac" if clip.audio else None)
    assert facts.faststart is clip.faststart
    assert facts.size_bytes == path.stat().st_size
    assert facts.bitrate == pytest.approx(facts.size_bytes * 8 / facts.duration, rel=0.01)
    assert video.plays_inline(facts) is inline


def test_probe_sees_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(media.truncated(media.clip_bytes(tmp_path, media.H264_FITS)))
    facts = video.probe(path)
    assert not facts.complete
    assert not video.plays_inline(facts)


def test_probe_refuses_what_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video at all" * 100)
    with pytest.raises(VideoUnreadable):
        video.probe(path)


@pytest.mark.parametrize(
    "clip",
    [media.H264_OVER_LIMIT, media.H265, media.ODD_PIXELS, media.NOT_FASTSTART],
    ids=["h264-over-limit", "h265", "yuv444p", "moov-at-end"],
)
def test_fit_makes_an_inline_mp4_under_the_limit(tmp_path: Path, clip: Clip) -> None:
    src = media.make_clip(tmp_path / "in.mp4", clip)
    dest = tmp_path / "out.mp4"
    result = video.fit(src, dest, LIMIT)
    assert result.ok, result
    assert result.size_bytes == dest.stat().st_size <= LIMIT
    facts = video.probe(dest)
    assert video.plays_inline(facts)
    codec, pix_fmt, seconds, _, audio = decoded(dest)
    assert (codec, pix_fmt, audio) == ("h264", "yuv420p", "aac")
    assert seconds == pytest.approx(clip.seconds, abs=0.2)
    assert (result.width, result.height) == (clip.width, clip.height)  # enough bits: kept


def test_fit_retries_lower_when_the_first_pass_overshoots(tmp_path: Path) -> None:
    # Noise is the worst case for rate control: the first pass lands over the limit.
    src = media.make_clip(tmp_path / "in.mp4", media.H264_OVER_LIMIT)
    result = video.fit(src, tmp_path / "out.mp4", LIMIT)
    assert result.ok and result.passes == 2 and result.size_bytes <= LIMIT


def test_fit_says_when_nothing_watchable_fits(tmp_path: Path) -> None:
    src = media.make_clip(tmp_path / "in.mp4", media.H264_OVER_LIMIT)
    result = video.fit(src, tmp_path / "out.mp4", 20 * 1024)  # 80 kb/s for 2 s: too few
    assert not result.ok and result.failure is FitFailure.TOO_LONG
    assert not (tmp_path / "out.mp4").exists()


def test_fit_stops_at_its_time_limit(tmp_path: Path) -> None:
    src = media.make_clip(tmp_path / "in.mp4", media.H264_OVER_LIMIT)
    result = video.fit(src, tmp_path / "out.mp4", LIMIT, timeout_seconds=0.0)
    assert not result.ok and result.failure is FitFailure.TIMEOUT


def facts_of(width: int, height: int, seconds: float) -> video.VideoFacts:
    return video.VideoFacts(
        container="mov,mp4,m4a,3gp,3g2,mj2",
        video_codec="hevc",
        pixel_format="yuv420p",
        width=width,
        height=height,
        duration=seconds,
        bitrate=0,
        audio_codec="aac",
        faststart=True,
        size_bytes=0,
        complete=True,
        fps=24.0,
    )


def test_plan_keeps_1080p_for_a_12s_clip_under_10_mib() -> None:
    plan = video.plan_encode(facts_of(1920, 1080, 12), 10 * 1024 * 1024)
    assert plan is not None and (plan.width, plan.height) == (1920, 1080)
    total = (plan.video_bitrate + plan.audio_bitrate) * 12 / 8
    assert 0.85 * 10 * 1024 * 1024 < total < 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("limit_mib", "size"),
    [(10, (1920, 1080)), (5, (1280, 720)), (2, (854, 480))],
)
def test_plan_steps_down_when_bits_per_pixel_run_low(limit_mib: int, size: tuple[int, int]) -> None:
    plan = video.plan_encode(facts_of(1920, 1080, 12), limit_mib * 1024 * 1024)
    assert plan is not None and (plan.width, plan.height) == size


def test_plan_steps_down_a_portrait_clip_by_its_short_side() -> None:
    plan = video.plan_encode(facts_of(1080, 1920, 12), 5 * 1024 * 1024)
    assert plan is not None and (plan.width, plan.height) == (720, 1280)


def test_last_frame_is_the_final_picture(tmp_path: Path) -> None:
    clip = Clip(seconds=2.0)
    path = media.make_clip(tmp_path / "in.mp4", clip)
    frames = round(clip.seconds * media.FPS)
    image = video.last_frame(path)
    assert image.size == (clip.width, clip.height) and image.mode == "RGB"
    expected = media.colour_at(frames - 1, frames)
    assert all(abs(a - b) <= 6 for a, b in zip(image.getpixel((160, 120)), expected, strict=True))


def test_last_frame_of_junk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"junk" * 100)
    with pytest.raises(VideoUnreadable):
        video.last_frame(path)


def test_concat_copies_matching_streams(tmp_path: Path) -> None:
    a = media.make_clip(tmp_path / "a.mp4", Clip(seconds=1.0))
    b = media.make_clip(tmp_path / "b.mp4", Clip(seconds=1.0))
    dest = tmp_path / "ab.mp4"
    assert video.concat(a, b, dest)
    codec, _, seconds, frames, audio = decoded(dest)
    assert (codec, audio) == ("h264", "aac")
    assert frames == 2 * media.FPS
    assert seconds == pytest.approx(2.0, abs=0.2)
    assert video.plays_inline(video.probe(dest))


def test_concat_refuses_streams_that_differ(tmp_path: Path) -> None:
    a = media.make_clip(tmp_path / "a.mp4", media.H264_FITS)
    b = media.make_clip(tmp_path / "b.mp4", media.H265)
    dest = tmp_path / "ab.mp4"
    assert not video.concat(a, b, dest)
    assert not dest.exists()


# -- end to end: the real bot, the fakes serving these MP4s --------------------

E2E_LIMIT = 200 * 1024  # the fake guild's upload limit: small, to force re-encoding


async def deliver_media(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, data: bytes, limit: int = E2E_LIMIT
) -> tuple[FakeInteraction, FakeMessage]:
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05, media=data))
    discord_fake.upload_limit = limit
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", attachment_size_limit=limit)
    (message,) = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "your video is ready" in m.content],
        within=60,
    )
    await wait_state(discord_fake, status_message(discord_fake, ix), "Done")
    return ix, message


@pytest.mark.parametrize(
    ("clip", "reencoded"),
    [
        (media.H264_FITS, False),
        (media.NO_AUDIO, False),
        (media.H264_OVER_LIMIT, True),
        (media.H265, True),
        (media.ODD_PIXELS, True),
        (media.NOT_FASTSTART, True),
    ],
    ids=["h264", "no-audio", "h264-over-limit", "h265", "yuv444p", "moov-at-end"],
)
async def test_each_video_arrives_inline_under_the_limit(
    bot: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    tmp_path: Path,
    clip: Clip,
    reencoded: bool,
) -> None:
    data = media.clip_bytes(tmp_path, clip)
    ix, message = await deliver_media(discord_fake, runcomfy_fake, data)
    (attachment,) = message.attachments
    assert attachment.filename.endswith(".mp4") and len(attachment.data) <= E2E_LIMIT
    assert (attachment.data == data) is not reencoded  # inline-ready clips go as they came
    posted = tmp_path / "posted.mp4"
    posted.write_bytes(attachment.data)
    assert video.plays_inline(video.probe(posted))
    codec, pix_fmt, seconds, _, audio = decoded(posted)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert audio == ("aac" if clip.audio else None)
    assert seconds == pytest.approx(clip.seconds, abs=0.2)

    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.video_bytes == len(data)
    assert job.posted_video_bytes == (len(attachment.data) if reencoded else None)
    shown = [json.dumps(edit.embeds) for edit in status_message(discord_fake, ix).edits]
    if clip is media.H264_OVER_LIMIT:
        assert any("Compressing to fit this server's 0.2 MB limit" in s for s in shown)
    elif reencoded:
        assert any("Converting the video so it plays in Discord" in s for s in shown)


async def test_a_truncated_video_is_linked_with_the_reason(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    data = media.truncated(media.clip_bytes(tmp_path, media.H264_FITS))
    _, message = await deliver_media(discord_fake, runcomfy_fake, data)
    assert not message.attachments
    assert runcomfy_fake.video_url(next(iter(runcomfy_fake.jobs))) in message.content
    assert "came back incomplete" in message.content


async def test_a_video_that_cannot_fit_even_compressed_is_linked(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    data = media.clip_bytes(tmp_path, media.H264_OVER_LIMIT)
    _, message = await deliver_media(discord_fake, runcomfy_fake, data, limit=20 * 1024)
    assert not message.attachments
    assert "upload limit (0.0 MB), even compressed" in message.content
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    assert job.video_bytes == len(data) and job.posted_video_bytes is None
    details = json.dumps(detail_embed(job, i18n.english()).to_dict())
    assert job.video_url is not None and job.video_url in details


async def test_history_details_say_the_posted_copy_was_reencoded(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    data = media.clip_bytes(tmp_path, media.H265)
    await deliver_media(discord_fake, runcomfy_fake, data)
    job = (await bot.jobs.store.list_for_user(discord_fake.author.id))[0]
    details = json.dumps(detail_embed(job, i18n.english()).to_dict())
    assert f"[Original]({job.video_url})" in details
    assert "The posted copy was re-encoded" in details


async def test_a_fit_out_of_time_posts_the_video_as_it_came_when_it_fits(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    await runner.start(video_fit_timeout_seconds=0.001)
    data = media.clip_bytes(tmp_path, media.H265)
    _, message = await deliver_media(discord_fake, runcomfy_fake, data)
    assert message.attachments[0].data == data  # not playable inline, but better than a link


async def test_a_fit_out_of_time_links_a_video_over_the_limit(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    await runner.start(video_fit_timeout_seconds=0.001)
    data = media.clip_bytes(tmp_path, media.H264_OVER_LIMIT)
    _, message = await deliver_media(discord_fake, runcomfy_fake, data)
    assert not message.attachments and "even compressed" in message.content


async def test_closing_stops_an_encode_in_progress(tmp_path: Path) -> None:
    clip = Clip(content="noise", seconds=20.0, bit_rate=2_000_000)
    src, dest = media.make_clip(tmp_path / "in.mp4", clip), tmp_path / "out.mp4"
    workers = video.VideoWorkers(1, timeout_seconds=120)
    fitting = asyncio.create_task(workers.fit(src, dest, 4 * 1024 * 1024))
    for _ in range(200):  # until the worker has opened its output: it is encoding
        if dest.exists() or fitting.done():
            break
        await asyncio.sleep(0.05)
    assert not fitting.done()
    await asyncio.to_thread(workers.close)
    result = await asyncio.wait_for(fitting, 5)
    assert not result.ok  # stopped, not waited for


async def test_workers_run_below_the_bots_priority(tmp_path: Path) -> None:
    # Encoding is background work: the event loop (acks, tracking) must win the CPU.
    workers = video.VideoWorkers(1, timeout_seconds=60)
    try:
        src = media.make_clip(tmp_path / "in.mp4", media.H265)
        assert (await workers.fit(src, tmp_path / "out.mp4", LIMIT)).ok
        assert workers._pool is not None  # the pool the fit used, asked directly
        niceness = await asyncio.wrap_future(workers._pool.submit(os.nice, 0))
        assert niceness >= os.nice(0) + video.WORKER_NICENESS
    finally:
        await asyncio.to_thread(workers.close)
