"""Another person's prompt, and what /history-clear deleted, are not copied (issue 27, item 8)."""

from __future__ import annotations

from pathlib import Path

from app.client import AnimateBot
from bot import i18n
from tests.cogs.animate.edges import QUICK, answered, video_with_clip
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_extend import delivered, extend_id
from tests.cogs.test_history import press, reply
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeUser
from tests.fakes.runcomfy import FakeRunComfy


async def clear_history(fake: FakeDiscord, user: FakeUser) -> None:
    ask = await reply(fake, await fake.invoke("history-clear", user=user))
    await press(fake, ask, "Delete my finished videos", user=user)


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
