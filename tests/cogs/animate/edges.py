"""What the tests of the edges of the buttons under a video and of cancelling share
(issue 27, items 4, 6, 7, 8).

Tried as a troll, a user who wants what is not theirs, and plain bad luck would:
Extend burnt by someone else, ❌ toggled for public replies, Join pressed twice,
buttons pressed where the member may not speak, a stranger's full prompt, and
copies of what the author's /history-clear deleted. Black box: both fakes, the real bot.
"""

from __future__ import annotations

from pathlib import Path

from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_extend import CLIP, delivered
from tests.fakes import media
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline

QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


async def answered(fake: FakeDiscord, ix: FakeInteraction) -> FakeMessage:
    await fake.wait_for(lambda: ix.response_type is not None and ix.original_id, within=10)
    return fake.messages[ix.original_id]  # type: ignore[index]


async def video_with_clip(
    fake: FakeDiscord, runcomfy: FakeRunComfy, tmp_path: Path, *after: Timeline, prompt: str = "p"
) -> FakeMessage:
    """A delivered video with a real clip (Extend needs its last frame)."""
    data = media.clip_bytes(tmp_path, CLIP)
    runcomfy.script(Timeline(queue_seconds=0.05, run_seconds=0.05, media=data), *after)
    await fake.invoke("animate", image=png(), prompt=prompt)
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    return video
