"""A model's schema changes while a Remix form is open (a refresh drops the longest
durations): the form's picks are checked against the model as it is now, so the author
is told privately what it takes, and no job is left half-started."""

from __future__ import annotations

import asyncio

from app.client import AnimateBot
from bot.domain import ACTIVE_STATUSES, JobStatus
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import delivered
from tests.cogs.animate.test_results import button
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline

QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


async def test_a_remix_form_sent_after_the_schema_dropped_its_duration_is_refused_privately(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns", duration=12)
    (video,) = await delivered(discord_fake)
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None

    # RunComfy now takes 4 to 10 seconds; the bot reads it at its refresh.
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    hosted.input_schema["properties"]["duration"]["enum"] = [4, 5, 6, 7, 8, 9, 10]
    await bot.services.models.refresh()

    prompt_input = shown.modal["components"][0]["components"][0]
    sent = await discord_fake.submit_modal(shown, {prompt_input["custom_id"]: "the cat sneezes"})
    await discord_fake.wait_for(lambda: sent.original_id or sent.followup_ids, within=10)
    said = discord_fake.messages[sent.original_id or sent.followup_ids[0]]
    assert said.ephemeral and "10" in said.content, said.content
    assert len(runcomfy_fake.submits) == 1
    (job, *rest) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert not rest or all(j.status not in ACTIVE_STATUSES for j in (job, *rest))


async def test_again_after_the_schema_dropped_the_videos_duration_says_so_not_a_shorter_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # "Again" made a 5 s video of a 12 s one, silently, once the model stopped taking 12 s.
    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns", duration=12)
    (video,) = await delivered(discord_fake)
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    hosted.input_schema["properties"]["duration"]["enum"] = [4, 5, 6, 7, 8, 9, 10]
    await bot.services.models.refresh()

    pressed = await discord_fake.click(video, button(video, "again"))
    await discord_fake.wait_for(lambda: pressed.original_id or pressed.followup_ids, within=10)
    said = discord_fake.messages[pressed.original_id or pressed.followup_ids[0]]
    assert said.ephemeral and "12" in said.content and "10" in said.content, said.content
    assert len(runcomfy_fake.submits) == 1


async def test_a_schema_changed_between_a_jobs_checks_and_its_submit_sends_nothing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The submit built its body from the new schema, which refused the job's 12 s: the
    # error escaped and the job stayed half-started, its row "submitting".
    discord_fake.latency = 0.5  # its status message takes a while to post
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns", duration=12)
    store = bot.jobs.store
    await discord_fake.wait_for(lambda: discord_fake.count("POST", "/callback") > 0, within=10)
    for _ in range(100):
        if await store.list_for_user(discord_fake.author.id):
            break
        await asyncio.sleep(0.02)
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    hosted.input_schema["properties"]["duration"]["enum"] = [4, 5, 6, 7, 8, 9, 10]
    await bot.services.models.refresh()
    discord_fake.latency = 0.0

    for _ in range(200):
        (job,) = await store.list_for_user(discord_fake.author.id)
        if job.status not in ACTIVE_STATUSES:
            break
        await asyncio.sleep(0.05)
    assert job.status is JobStatus.FAILED and job.request_id is None, job
    assert runcomfy_fake.submits == []
