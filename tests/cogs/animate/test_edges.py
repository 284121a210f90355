"""Extend cannot be burnt by someone else, and one answer per person, not per toggle
(issue 27, items 4 and 6): extensions give Extend back, ❌ toggled, Join pressed twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.client import AnimateBot
from bot import i18n
from tests.cogs.animate.edges import answered, video_with_clip
from tests.cogs.animate.helpers import png, request_id_of, start_queued, status_message, wait_state
from tests.cogs.animate.test_extend import CLIP, button, delivered, extend_id, until_reacted
from tests.fakes import media
from tests.fakes.discord import FakeDiscord, FakeMessage, FakeUser
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> bool:
    """Poll an async check (the bot's rows) until it holds; False if it never does."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def quiet(fake: FakeDiscord, seconds: float = 0.4) -> None:
    """Wait until the bot has sent Discord nothing for `seconds` (at most 5 s)."""
    deadline = time.monotonic() + 5.0
    seen, since = len(fake.requests), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(fake.requests) != seen:
            seen, since = len(fake.requests), time.monotonic()
        elif time.monotonic() - since >= seconds:
            return


async def toggle(fake: FakeDiscord, message: FakeMessage, user: FakeUser) -> None:
    """Take one's ❌ off the message and put it back, then let the bot answer."""
    message.reactions.get("❌", set()).discard(user.id)
    await fake.react(message, user=user)
    await quiet(fake)


async def source_of(bot: AnimateBot, fake: FakeDiscord):  # type: ignore[no-untyped-def]
    jobs = await bot.jobs.store.list_for_user(fake.author.id, limit=50)
    return min(jobs, key=lambda j: j.id)


async def test_an_extension_cancelled_while_queued_gives_the_video_its_extend_back(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake, stranger = discord_fake, discord_fake.stranger
    video = await video_with_clip(
        fake, runcomfy_fake, tmp_path, Timeline(manual=True), Timeline(manual=True)
    )
    theirs = await fake.click(video, extend_id(video), user=stranger)
    await until_reacted(fake, theirs)
    await fake.wait_for(lambda: button(video).get("disabled") is True, within=10)
    extension = status_message(fake, theirs)
    await fake.react(extension, user=stranger)
    await wait_state(fake, extension, "Cancelled")

    # Nothing was charged for it: the video can be extended again, and says so.
    source = await source_of(bot, fake)
    assert await eventually(lambda: _released(bot, source.id)), (
        "the claim outlived an uncharged extension"
    )
    await fake.wait_for(lambda: not button(video).get("disabled"), within=10)
    mine = await fake.click(video, extend_id(video))
    await fake.wait_for(lambda: len(runcomfy_fake.submits) == 3, within=30)
    assert not mine.ephemeral
    await until_reacted(fake, mine)


async def test_an_extension_refused_at_submit_gives_the_video_its_extend_back(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_fake
    video = await video_with_clip(fake, runcomfy_fake, tmp_path, Timeline(manual=True))
    runcomfy_fake.inject("submit", "balance")  # refused before it was accepted: not charged
    theirs = await fake.click(video, extend_id(video), user=fake.stranger)
    await wait_state(fake, await answered(fake, theirs), "Failed")
    source = await source_of(bot, fake)
    assert await eventually(lambda: _released(bot, source.id))
    await fake.wait_for(lambda: not button(video).get("disabled"), within=10)


async def test_an_extend_whose_answer_fails_does_not_keep_the_video_claimed(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_fake
    video = await video_with_clip(fake, runcomfy_fake, tmp_path, Timeline(manual=True))
    fake.answer_late()  # the defer reaches Discord after its 3 s: "Unknown interaction"
    late = await fake.click(video, extend_id(video), user=fake.stranger)
    await fake.wait_for(
        lambda: any(r.status == 404 and "/callback" in r.path for r in fake.requests)
    )
    assert late.response_type is None and len(runcomfy_fake.submits) == 1
    source = await source_of(bot, fake)
    assert await eventually(lambda: _released(bot, source.id)), "the claim leaked"
    again = await fake.click(video, extend_id(video))
    await fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
    await until_reacted(fake, again)


async def _released(bot: AnimateBot, job_id: int | None) -> bool:
    assert job_id is not None
    job = await bot.jobs.get(job_id)
    return job is not None and job.extended_at is None


async def test_toggling_a_cross_on_ones_own_rendering_job_answers_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake, author = discord_fake, discord_fake.author
    _, status = await start_queued(fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "in_progress")
    await wait_state(fake, status, "Rendering")
    for _ in range(3):
        await toggle(fake, status, author)
    answers = [m for m in fake.channel_messages() if "already rendering" in m.content]
    assert len(answers) == 1, [m.content for m in answers]
    assert runcomfy_fake.count("cancel") == 1


async def test_toggling_a_cross_on_ones_own_cancelled_job_stays_quiet(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake, author, moderator = discord_fake, discord_fake.author, discord_fake.moderator
    _, status = await start_queued(fake, runcomfy_fake)
    await fake.react(status, user=author)
    await wait_state(fake, status, "Cancelled")
    for _ in range(2):
        await toggle(fake, status, author)
    assert [m.content for m in fake.channel_messages() if m.id != status.id] == []
    # Someone else's first ❌ still gets its answer; their toggles do not.
    for _ in range(3):
        await toggle(fake, status, moderator)
    told = [m for m in fake.channel_messages() if "already cancelled" in m.content]
    assert len(told) == 1 and told[0].pinged_users == {moderator.id}
    assert runcomfy_fake.count("cancel") == 1


async def joinable(
    fake: FakeDiscord, runcomfy: FakeRunComfy, tmp_path: Path
) -> tuple[FakeMessage, str]:
    """A video and its extension, delivered; the extension's message and its Join id."""
    data = media.clip_bytes(tmp_path, CLIP)
    fast = Timeline(queue_seconds=0.05, run_seconds=0.05, media=data)
    runcomfy.script(fast, fast)
    await fake.invoke("animate", image=png(), prompt="p")
    (first,) = await fake.wait_for(lambda: delivered(fake), within=30)
    extending = await fake.click(first, extend_id(first))
    (second,) = await fake.wait_for(
        lambda: [m for m in delivered(fake) if m.id != first.id], within=30
    )
    await until_reacted(fake, extending)
    return second, next(c for c in second.custom_ids if c.startswith("animate:join:"))


def joined_posts(fake: FakeDiscord) -> list[FakeMessage]:
    return [m for m in fake.channel_messages() if "joined into one" in m.content and m.attachments]


async def test_a_double_press_of_join_posts_the_joined_video_once(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_fake
    second, join_id = await joinable(fake, runcomfy_fake, tmp_path)
    presses = await asyncio.gather(fake.click(second, join_id), fake.click(second, join_id))
    await fake.wait_for(lambda: joined_posts(fake), within=30)
    await fake.wait_for(lambda: all(p.response_type for p in presses), within=10)
    await quiet(fake)
    (joined,) = joined_posts(fake)
    (busy,) = [p for p in presses if p.ephemeral]
    assert fake.messages[busy.original_id].content == i18n.english()("join.busy")  # type: ignore[index]

    # A press after it landed points at it rather than posting it again.
    later = await answered(fake, await fake.click(second, join_id))
    assert later.ephemeral and str(joined.id) in later.content
    assert len(joined_posts(fake)) == 1


async def test_a_join_that_stalls_gives_up_and_frees_the_button(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_fake
    await runner.start(http_timeout_seconds=0.5)
    second, join_id = await joinable(fake, runcomfy_fake, tmp_path)
    fake.cdn_latency = 30.0  # the clips never come
    stalled = await fake.click(second, join_id)
    failed = await fake.wait_for(
        lambda: [
            m for m in fake.visible_to(fake.author) if m.ephemeral and m.id in stalled.followup_ids
        ],
        within=10,
    )
    assert failed[0].content == i18n.english()("join.failed")
    fake.release_cdn()
    await fake.click(second, join_id)
    await fake.wait_for(lambda: joined_posts(fake), within=30)
