"""Going on from a video: Again, Remix, Higher resolution and the Animate menu, end to end."""

from __future__ import annotations

import asyncio
from typing import Any

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage, FakeUser
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

QUICK = Timeline(queue_positions=(1,), queue_seconds=0.05, run_seconds=0.05)


def videos(fake: FakeDiscord) -> list[FakeMessage]:
    return [
        m
        for m in fake.channel_messages()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]


async def delivered(fake: FakeDiscord, runcomfy: FakeRunComfy, **options: object) -> FakeMessage:
    """Run one job to its video and return the delivered message."""
    runcomfy.script(QUICK)
    count = len(videos(fake))
    await fake.invoke("animate", image=png(), prompt="the *waves* roll in", **options)
    found = await fake.wait_for(lambda: videos(fake)[count:], within=10)
    return found[0]


def value_labelled(select: dict[str, Any], label: str) -> str:
    """The value of the select's option users see as `label`."""
    return next(o["value"] for o in select["options"] if o["label"] == label)


def button(message: FakeMessage, action: str) -> str:
    return next(c for c in message.custom_ids if c.startswith(f"animate:{action}:"))


async def answer(fake: FakeDiscord, ix: FakeInteraction) -> FakeMessage:
    """The first thing the bot said to an interaction (its response or first followup)."""
    await fake.wait_for(lambda: ix.original_id or ix.followup_ids)
    return fake.messages[ix.original_id or ix.followup_ids[0]]


async def settle(fake: FakeDiscord, runcomfy: FakeRunComfy, jobs: int) -> None:
    """Wait until `jobs` videos in all are delivered, so no job outlives the test."""
    await fake.wait_for(lambda: len(videos(fake)) >= jobs, within=15)


async def jobs_of(bot: AnimateBot, user: FakeUser) -> list[object]:
    return list(await bot.jobs.store.list_for_user(user.id, limit=50))


async def test_the_video_shows_prompt_options_cost_and_the_buttons(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    assert video.embeds == []  # a plain attachment: Discord plays it inline
    lines = video.content.splitlines()
    assert lines[0] == f"<@{discord_fake.author.id}> your video is ready!"
    assert lines[1] == "> the \\*waves\\* roll in"  # escaped, so Markdown cannot leak
    assert lines[2] == (
        "Seedance v1.5 pro · 480p · adaptive · 5 s · audio on · camera fixed · cost $0.12"
    )
    labels = [c["label"] for row in video.components for c in row["components"]]
    assert labels == [
        "Again", "Remix", "Again in 720p", "Again in 1080p", "Extend", "Mark as spoiler",
    ]  # fmt: skip


async def test_again_makes_exactly_one_job_even_on_a_double_press(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    again = button(video, "again")
    runcomfy_fake.script(QUICK, QUICK)
    first = await discord_fake.click(video, again)
    second = await discord_fake.click(video, again)
    refused = await answer(discord_fake, second)
    assert refused.ephemeral and "Already on it" in refused.content
    await settle(discord_fake, runcomfy_fake, 2)
    assert len(runcomfy_fake.submits) == 2  # the first job and one again
    assert runcomfy_fake.submits[1]["prompt"] == "the *waves* roll in"
    assert not (await answer(discord_fake, first)).ephemeral  # the new status message
    # Greyed out while its job started, then offered again (others may press it too).
    states = [
        [c.get("disabled", False) for row in edit.components for c in row["components"]]
        for edit in video.edits
    ]
    assert [True, False, False, False, False, False] in states  # the last: Spoiler
    await discord_fake.wait_for(
        lambda: not any(c.get("disabled") for row in video.components for c in row["components"])
    )


async def test_a_stranger_pressing_again_gets_their_own_job_on_their_quota(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_daily=1)
    video = await delivered(discord_fake, runcomfy_fake)
    again = button(video, "again")
    # The author has used their daily job: refused kindly, nothing started.
    refused = await answer(discord_fake, await discord_fake.click(video, again))
    assert refused.ephemeral and "daily limit" in refused.content
    # A stranger has not: their own job, counted on them.
    runcomfy_fake.script(QUICK)
    await discord_fake.click(video, again, user=discord_fake.stranger)
    await settle(discord_fake, runcomfy_fake, 2)
    (theirs,) = await bot.jobs.store.list_for_user(discord_fake.stranger.id)
    assert theirs.status in (JobStatus.COMPLETED, JobStatus.DELIVERED)
    assert theirs.prompt == "the *waves* roll in"
    assert len(await bot.jobs.store.list_for_user(discord_fake.author.id)) == 1


async def test_remix_opens_a_prefilled_modal_and_starts_one_job_with_the_choices(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    press = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: press.modal)
    assert press.modal is not None and press.response_type == 9
    prompt_input = press.modal["components"][0]["components"][0]
    assert prompt_input["value"] == "the *waves* roll in"
    # The model's options, each under its name (the model orders them).
    selects = {row["label"]: row["component"] for row in press.modal["components"][1:]}
    assert set(selects) == {"Resolution", "Duration", "Aspect ratio", "Sound"}
    resolution, duration = selects["Resolution"], selects["Duration"]
    ratio, audio = selects["Aspect ratio"], selects["Sound"]
    assert [o["value"] for o in resolution["options"] if o.get("default")] == ["480p"]
    assert [o["value"] for o in ratio["options"] if o.get("default")] == ["adaptive"]
    assert [o["label"] for o in duration["options"] if o.get("default")] == ["5 s"]
    assert [o["label"] for o in audio["options"] if o.get("default")] == ["audio on"]
    runcomfy_fake.script(QUICK)
    submitted = await discord_fake.submit_modal(
        press,
        {
            prompt_input["custom_id"]: "the waves freeze",
            resolution["custom_id"]: [value_labelled(resolution, "720p")],
            duration["custom_id"]: [value_labelled(duration, "8 s")],
            ratio["custom_id"]: [value_labelled(ratio, "9:16")],
            audio["custom_id"]: [value_labelled(audio, "no audio")],
        },
    )
    await settle(discord_fake, runcomfy_fake, 2)
    assert submitted.response_type == 5 and not submitted.ephemeral
    assert len(runcomfy_fake.submits) == 2
    remixed = runcomfy_fake.submits[1]
    assert remixed == {
        **runcomfy_fake.submits[0],
        "prompt": "the waves freeze",
        "resolution": "720p",
        "duration": 8,
        "ratio": "9:16",
        "generate_audio": False,
        "first_frame_image_url": remixed["first_frame_image_url"],
    }


async def test_higher_resolution_is_offered_only_above_and_makes_one_job(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake, resolution="720p")
    assert [c for c in video.custom_ids if c.startswith("animate:higher:")] == [
        button(video, "again").replace("again", "higher") + ":1080p"
    ]
    runcomfy_fake.script(QUICK)
    await discord_fake.click(video, button(video, "higher"))
    await settle(discord_fake, runcomfy_fake, 2)
    assert [s["resolution"] for s in runcomfy_fake.submits] == ["720p", "1080p"]
    top = videos(discord_fake)[-1]
    assert not [c for c in top.custom_ids if c.startswith("animate:higher:")]


async def test_the_buttons_work_after_a_restart(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start()
    video = await delivered(discord_fake, runcomfy_fake)
    await runner.restart()
    runcomfy_fake.script(QUICK)
    await discord_fake.click(video, button(video, "again"))
    await settle(discord_fake, runcomfy_fake, 2)
    assert len(runcomfy_fake.submits) == 2


async def test_again_when_the_image_is_gone_says_so_kindly(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status_message_id is not None
    discord_fake.delete(discord_fake.messages[job.status_message_id])
    press = await discord_fake.click(video, button(video, "again"))
    gone = await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.visible_to(discord_fake.author)
            if m.ephemeral and "no longer available" in m.content
        ]
    )
    assert gone and len(runcomfy_fake.submits) == 1
    assert press.original_id is not None and discord_fake.messages[press.original_id].deleted


async def test_the_animate_menu_on_a_message_with_an_image(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    posted = discord_fake.post("look at this", files=(("cat.png", png()),))
    ix = await discord_fake.invoke_message_command("Animate", posted)
    await discord_fake.wait_for(lambda: ix.modal)
    assert ix.modal is not None
    prompt_id = ix.modal["components"][0]["components"][0]["custom_id"]
    runcomfy_fake.script(QUICK)
    await discord_fake.submit_modal(ix, {prompt_id: "the cat yawns"})
    await settle(discord_fake, runcomfy_fake, 1)
    (submitted,) = runcomfy_fake.submits
    assert submitted["prompt"] == "the cat yawns" and submitted["resolution"] == "480p"


async def test_the_animate_menu_on_a_message_without_an_image_answers_kindly(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    posted = discord_fake.post("just words")
    said = await answer(discord_fake, await discord_fake.invoke_message_command("Animate", posted))
    assert said.ephemeral and "no image to animate" in said.content
    assert runcomfy_fake.submits == []


async def test_french_menu_and_buttons(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.guild_locale = "fr"
    posted = discord_fake.post("regardez", files=(("chat.png", png()),))
    ix = await discord_fake.invoke_message_command("Animate", posted, locale="fr")
    await discord_fake.wait_for(lambda: ix.modal)
    assert ix.modal is not None and ix.modal["title"] == "Animer cette image"
    prompt_id = ix.modal["components"][0]["components"][0]["custom_id"]
    runcomfy_fake.script(QUICK)
    await discord_fake.submit_modal(ix, {prompt_id: "le chat baille"}, locale="fr")
    await settle(discord_fake, runcomfy_fake, 1)
    video = videos(discord_fake)[0]
    assert "votre vidéo est prête" in video.content
    labels = [c["label"] for row in video.components for c in row["components"]]
    assert labels == [
        "Refaire", "Remixer", "Refaire en 720p", "Refaire en 1080p", "Prolonger",
        "Marquer comme spoiler",
    ]  # fmt: skip
    assert discord_fake.command("Animate")["name_localizations"]["fr"] == "Animer"


async def test_a_form_sent_twice_at_once_starts_one_job(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    """Remix's form and the Animate menu's: one form, one video, however often it is sent
    (Discord closes a form once sent; a second send is a double click or a script)."""
    await runner.start(quota_user_concurrent=10)  # room for every job a send could start
    video = await delivered(discord_fake, runcomfy_fake)
    remix = await discord_fake.click(video, button(video, "remix"))
    posted = discord_fake.post("look at this", files=(("cat.png", png()),))
    menu = await discord_fake.invoke_message_command("Animate", posted)
    await discord_fake.wait_for(lambda: remix.modal and menu.modal)
    assert menu.modal is not None
    prompt_id = menu.modal["components"][0]["components"][0]["custom_id"]
    runcomfy_fake.script(*(QUICK for _ in range(4)))
    sent = await asyncio.gather(
        discord_fake.submit_modal(remix),
        discord_fake.submit_modal(remix),
        discord_fake.submit_modal(menu, {prompt_id: "the cat yawns"}),
        discord_fake.submit_modal(menu, {prompt_id: "the cat yawns"}),
    )
    await settle(discord_fake, runcomfy_fake, 3)
    await discord_fake.wait_for(lambda: all(ix.response_type for ix in sent))
    await asyncio.sleep(0.5)  # a second job, if one is coming
    assert len(runcomfy_fake.submits) == 3  # the first video, one remix, one from the menu
    refused = [ix for ix in sent if ix.response_type == 4]
    assert len(refused) == 2
    for ix in refused:
        said = await answer(discord_fake, ix)
        assert said.ephemeral and "already sent" in said.content
