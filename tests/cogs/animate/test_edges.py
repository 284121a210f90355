"""Edges of the buttons under a video and of cancelling (issue 27, items 4, 6, 7, 8).

Tried as a troll, a user who wants what is not theirs, and plain bad luck would:
Extend burnt by someone else, ❌ toggled for public replies, Join pressed twice,
buttons pressed where the member may not speak, a stranger's full prompt, and
copies of what the author's /history-clear deleted. Black box: both fakes, the real bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.client import AnimateBot
from bot import i18n
from tests.cogs.animate.helpers import (
    png,
    request_id_of,
    start_queued,
    status_message,
    wait_state,
)
from tests.cogs.animate.test_extend import CLIP, button, delivered, extend_id, until_reacted
from tests.cogs.test_history import press, reply
from tests.fakes import media
from tests.fakes.discord import (
    SEND_MESSAGES,
    USE_COMMANDS,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
)
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


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


async def clear_history(fake: FakeDiscord, user: FakeUser) -> None:
    ask = await reply(fake, await fake.invoke("history-clear", user=user))
    await press(fake, ask, "Delete my finished videos", user=user)


async def source_of(bot: AnimateBot, fake: FakeDiscord):  # type: ignore[no-untyped-def]
    jobs = await bot.jobs.store.list_for_user(fake.author.id, limit=50)
    return min(jobs, key=lambda j: j.id)


# -- 4. Extend cannot be burnt by someone else ---------------------------------------


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


# -- 6. one answer per person, not per toggle ------------------------------------------


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


# -- 7. buttons follow the channel's rules -------------------------------------------


async def test_a_member_who_may_not_send_messages_here_starts_nothing_from_a_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake, stranger = discord_fake, discord_fake.stranger
    video = await video_with_clip(fake, runcomfy_fake, tmp_path, QUICK)
    fake.deny(stranger, fake.general, SEND_MESSAGES)
    actions = [
        c for c in video.custom_ids if c.split(":")[1] in ("again", "remix", "higher", "extend")
    ]
    assert len(actions) == 5
    for custom_id in actions:
        said = await answered(fake, await fake.click(video, custom_id, user=stranger, locale="fr"))
        assert said.ephemeral and said.content == i18n.for_locale("fr")("start.no_send"), custom_id
    # Neither from the menu on someone's picture, nor with the command.
    posted = fake.post("look", files=(("cat.png", png()),))
    menu = await fake.invoke_message_command("Animate", posted, user=stranger)
    assert (await answered(fake, menu)).ephemeral and menu.modal is None
    command = await fake.invoke("animate", user=stranger, image=png(), prompt="mine")
    assert (await answered(fake, command)).ephemeral
    assert len(runcomfy_fake.submits) == 1
    assert not any(c.get("disabled") for row in video.components for c in row["components"])
    # Elsewhere the same member may.
    elsewhere = await fake.invoke(
        "animate", user=stranger, channel=fake.art, image=png(), prompt="x"
    )
    await fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    assert not (await answered(fake, elsewhere)).ephemeral
    await fake.wait_for(
        lambda: [m for m in fake.channel_messages(fake.art) if "video is ready" in m.content],
        within=10,
    )


async def test_a_member_who_may_not_use_apps_here_starts_nothing_from_a_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake, stranger = discord_fake, discord_fake.stranger
    runcomfy_fake.script(QUICK)
    await fake.invoke("animate", image=png(), prompt="p")
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    fake.deny(stranger, fake.general, USE_COMMANDS)
    again = next(c for c in video.custom_ids if c.startswith("animate:again:"))
    said = await answered(fake, await fake.click(video, again, user=stranger))
    assert said.ephemeral and said.content == i18n.english()("start.no_send")
    assert len(runcomfy_fake.submits) == 1


# -- 8. another person's prompt, and what /history-clear deleted -----------------------

LONG = " ".join(f"word{i}" for i in range(120))  # about 800 characters


def remix_prefill(ix: FakeInteraction) -> str:
    assert ix.modal is not None
    return str(ix.modal["components"][0]["components"][0].get("value") or "")


async def close_form(fake: FakeDiscord, ix: FakeInteraction) -> None:
    """Send the form back with nothing in it (refused), so it ends with the test."""
    assert ix.modal is not None
    prompt_id = ix.modal["components"][0]["components"][0]["custom_id"]
    await answered(fake, await fake.submit_modal(ix, {prompt_id: "\u200b"}))


async def test_a_strangers_remix_form_holds_only_the_prompt_the_video_shows(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake = discord_fake
    runcomfy_fake.script(QUICK)
    await fake.invoke("animate", image=png(), prompt=LONG)
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    shown = video.content.splitlines()[1].removeprefix("> ").removesuffix("…")
    remix = next(c for c in video.custom_ids if c.startswith("animate:remix:"))

    theirs = await fake.click(video, remix, user=fake.stranger)
    await fake.wait_for(lambda: theirs.modal, within=10)
    assert remix_prefill(theirs) == shown and len(shown) < len(LONG)
    # Its author gets all of their own prompt back.
    mine = await fake.click(video, remix)
    await fake.wait_for(lambda: mine.modal, within=10)
    assert remix_prefill(mine) == LONG
    for form in (theirs, mine):
        await close_form(fake, form)


async def test_a_strangers_remix_form_of_a_marked_up_prompt_shows_no_more_than_the_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake = discord_fake
    runcomfy_fake.script(QUICK)
    prompt = "*" * 300  # each star shows escaped: the video shows fewer than 200 of them
    await fake.invoke("animate", image=png(), prompt=prompt)
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    visible = video.content.splitlines()[1].count("*")
    remix = next(c for c in video.custom_ids if c.startswith("animate:remix:"))
    theirs = await fake.click(video, remix, user=fake.stranger)
    await fake.wait_for(lambda: theirs.modal, within=10)
    assert remix_prefill(theirs) == "*" * visible and visible < 200
    await close_form(fake, theirs)


async def test_a_remix_form_sent_after_the_authors_history_clear_starts_nothing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake = discord_fake
    runcomfy_fake.script(QUICK)
    await fake.invoke("animate", image=png(), prompt="a private prompt")
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    remix = next(c for c in video.custom_ids if c.startswith("animate:remix:"))
    forms = [await fake.click(video, remix, user=u) for u in (fake.stranger, fake.author)]
    await fake.wait_for(lambda: all(f.modal for f in forms), within=10)
    await clear_history(fake, fake.author)

    for form in forms:
        sent = await answered(fake, await fake.submit_modal(form))
        assert sent.ephemeral and sent.content == i18n.english()("result.gone")
    assert len(runcomfy_fake.submits) == 1
    assert await bot.jobs.store.list_for_user(fake.stranger.id) == []


async def test_again_pressed_as_the_author_clears_their_history_copies_nothing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake = discord_fake
    runcomfy_fake.script(QUICK)
    await fake.invoke("animate", image=png(), prompt="a private prompt")
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    again = next(c for c in video.custom_ids if c.startswith("animate:again:"))
    fake.cdn_latency = 30.0
    pressed = await fake.click(video, again, user=fake.stranger)
    await fake.wait_for(lambda: fake.cdn_in_flight == 1, within=10)  # reading the image
    await clear_history(fake, fake.author)
    fake.release_cdn()

    gone = await fake.wait_for(
        lambda: [m for m in fake.visible_to(fake.stranger) if m.id in pressed.followup_ids],
        within=10,
    )
    assert gone[0].ephemeral and gone[0].content == i18n.english()("result.gone")
    assert await bot.jobs.store.list_for_user(fake.stranger.id) == []
    assert len(runcomfy_fake.submits) == 1


async def test_extend_pressed_as_the_author_clears_their_history_copies_nothing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_fake
    video = await video_with_clip(fake, runcomfy_fake, tmp_path, QUICK, prompt="a private one")
    fake.cdn_latency = 30.0
    pressed = await fake.click(video, extend_id(video), user=fake.stranger)
    await fake.wait_for(lambda: fake.cdn_in_flight == 1, within=10)  # reading the video
    await clear_history(fake, fake.author)
    fake.release_cdn()

    gone = await fake.wait_for(
        lambda: [m for m in fake.visible_to(fake.stranger) if m.id in pressed.followup_ids],
        within=10,
    )
    assert gone[0].ephemeral and gone[0].content == i18n.english()("extend.gone")
    assert await bot.jobs.store.list_for_user(fake.stranger.id) == []
    assert len(runcomfy_fake.submits) == 1
