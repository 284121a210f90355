"""VIDEO_WORKERS at its extremes, as a careless operator sets it.

A pool of 2**31 workers or more cannot be made (multiprocessing's queue sizes are C
ints): every video that needed a re-encode went out as a link, with an ERROR and a
traceback each time. The setting now has a maximum, refused at start; at it, the
bot re-encodes as usual (the pool starts only the workers the videos need).
"""

from __future__ import annotations

from pathlib import Path

from bot.config import load_settings
from tests.bot.test_config import TOKENS, settings_error
from tests.bot.test_video import deliver_media, media
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy

MOST_VIDEO_WORKERS = 1024


def test_more_video_workers_than_the_maximum_stop_the_start_naming_the_setting() -> None:
    for workers in (MOST_VIDEO_WORKERS + 1, 2**31, 10**400):
        text = settings_error(**TOKENS, video_workers=workers)
        assert "VIDEO_WORKERS" in text and "invalid" in text.splitlines()[0]
    settings = load_settings(_env_file=None, **TOKENS, video_workers=MOST_VIDEO_WORKERS)
    assert settings.video_workers == MOST_VIDEO_WORKERS


async def test_at_the_most_video_workers_a_video_is_re_encoded_and_posted(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    await runner.start(video_workers=MOST_VIDEO_WORKERS)
    data = media.clip_bytes(tmp_path, media.H264_OVER_LIMIT)
    _, message = await deliver_media(discord_fake, runcomfy_fake, data)
    assert message.attachments and message.attachments[0].data != data  # the fitted copy
