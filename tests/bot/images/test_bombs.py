"""Decompression bombs sent to the real bot: it survives, answers everyone, stays small.

A 7999x7999 PNG of a few kB passes the 64 Mpx header cap and decoded, converted and
resized it took 0.5 to 0.9 GB; eight at once took the process past 3 GB.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from app.client import AnimateBot
from bot.images.budget import DECODING
from tests.bot.images.bombs import bomb_png
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.harness import BotRunner, settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline

COMMANDS = 8
PEAK_TARGET = 600_000_000  # the bot process's peak resident memory (VmHWM)
ROOM_FOR = {"quota_user_concurrent": COMMANDS, "quota_user_daily": COMMANDS}


def started(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """The job's status message is up."""
    message = fake.messages.get(ix.original_id or 0)
    return message is not None and not message.deleted and bool(message.embeds)


def answered(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """The job started, or the author was told why not (a followup)."""
    return started(fake, ix) or bool(ix.followup_ids)


async def eight_at_once(
    fake: FakeDiscord, runcomfy: FakeRunComfy, tmp_path: Path, kind: str, users: int
) -> tuple[int, int, list[bool]]:
    """The bot process's peak memory once connected and after the eight, and who started."""
    authors = [fake.author] + [fake.add_user(f"user{i}") for i in range(1, users)]
    runcomfy.script(*(Timeline(manual=True) for _ in range(COMMANDS)))
    settings = settings_for_fakes(fake, runcomfy, tmp_path / "bot.db", **ROOM_FOR)
    bot = BotProcess(settings, fake, tmp_path / "bot.log")
    await bot.start()
    try:
        connected = bot.memory()["VmHWM"]
        data = bomb_png(kind)
        interactions = await asyncio.gather(
            *(
                fake.invoke("animate", image=data, prompt=f"bomb {i}", user=authors[i % users])
                for i in range(COMMANDS)
            )
        )
        proc = bot.proc
        assert proc is not None
        await fake.wait_for(
            lambda: proc.returncode is not None or all(answered(fake, ix) for ix in interactions),
            within=120,
        )
        assert proc.returncode is None, "the bot process died"
        peak = bot.memory()["VmHWM"]
    finally:
        await bot.stop()
    return connected, peak, [started(fake, ix) for ix in interactions]


async def test_eight_bombs_at_once_from_one_user_start_eight_videos_in_little_memory(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    connected, peak, jobs = await eight_at_once(
        discord_fake, runcomfy_fake, tmp_path, "palette", users=1
    )
    assert all(jobs)  # fitted and started, one after another
    assert peak < PEAK_TARGET, f"peak {peak / 1e6:.0f} MB (from {connected / 1e6:.0f} MB)"


async def test_eight_authors_of_the_heaviest_bombs_all_get_their_video_in_little_memory(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    # RGBA: the most bytes a pixel Pillow holds for a PNG, transparent so kept RGBA.
    connected, peak, jobs = await eight_at_once(
        discord_fake, runcomfy_fake, tmp_path, "rgba", users=COMMANDS
    )
    assert all(jobs)
    assert peak < PEAK_TARGET, f"peak {peak / 1e6:.0f} MB (from {connected / 1e6:.0f} MB)"


async def test_an_image_too_big_to_ever_open_is_refused_without_decoding(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Pillow's WebP decoder holds four copies of the pixels: 49 Mpx would take 0.8 GB.
    out = io.BytesIO()
    Image.new("L", (7000, 7000)).save(out, format="WEBP", lossless=True, method=0)
    ix = await discord_fake.invoke(
        "animate", image=out.getvalue(), prompt="huge", attachment_meta={"filename": "huge.webp"}
    )
    await discord_fake.wait_for(lambda: ix.followup_ids)
    refusal = discord_fake.messages[ix.followup_ids[0]]
    assert refusal.ephemeral and "more memory than I can spare" in refusal.content
    assert "`huge.webp` is 7000×7000 px" in refusal.content
    assert discord_fake.messages[ix.original_id or 0].deleted and not runcomfy_fake.submits


async def test_a_user_prepares_one_image_at_a_time_others_are_not_held_by_them(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    other = discord_fake.add_user("other")
    await runner.start(**ROOM_FOR)
    data = bomb_png("palette", 6000, 6000)  # fitted: reserves memory before decoding
    # The whole budget is taken: every image that reaches it waits in line.
    async with DECODING.reserve(DECODING.capacity, within=1):
        mine = [
            await discord_fake.invoke("animate", image=data, prompt=f"mine {i}") for i in range(3)
        ]
        theirs = await discord_fake.invoke("animate", image=data, prompt="theirs", user=other)
        await discord_fake.wait_for(lambda: DECODING.waiting == 2, within=10)
        await asyncio.sleep(0.3)
        # The author's first image and the other user's; the author's next two wait
        # for their turn, holding none of the memory and none of the shared slots.
        assert DECODING.waiting == 2
    everyone = [*mine, theirs]
    await discord_fake.wait_for(
        lambda: all(answered(discord_fake, ix) for ix in everyone), within=30
    )
    assert all(started(discord_fake, ix) for ix in everyone)
    assert DECODING.held == 0
