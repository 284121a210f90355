"""Two models with different schemas, end to end: the real bot, both fakes.

The fake RunComfy serves each model's own schema and answers 422 for any body outside
it, so every submit here is checked against its model's schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import png, state_of, status_message, wait_state
from tests.cogs.test_history import press, reply
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import (
    SEEDANCE_15,
    SEEDANCE_25,
    SEEDANCE_25_1080,
    seedance_25,
)

BOTH = [SEEDANCE_15, SEEDANCE_25]


@pytest.fixture
async def two_models(runner: BotRunner, runcomfy_fake: FakeRunComfy) -> AsyncIterator[AnimateBot]:
    runcomfy_fake.host(SEEDANCE_25, seedance_25(), base_price_usd=0.35)
    yield await runner.start(runcomfy_model_ids=BOTH)


def submits_to(runcomfy: FakeRunComfy, model_id: str) -> list[dict[str, object]]:
    return [
        r.json
        for r in runcomfy.requests
        if r.endpoint == "submit" and r.path == f"/v1/models/{model_id}"
    ]


async def delivered(fake: FakeDiscord, count: int = 1) -> list[FakeMessage]:
    return await fake.wait_for(
        lambda: (
            videos
            if len(
                videos := [
                    m
                    for m in fake.channel_messages()
                    if m.attachments and m.attachments[0].filename.endswith(".mp4")
                ]
            )
            >= count
            else None
        ),
        within=10,
    )


async def test_a_job_on_each_of_two_models_sends_each_its_own_body(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    first = await discord_fake.invoke("animate", image=png(), prompt="waves", duration=12)
    await delivered(discord_fake)
    second = await discord_fake.invoke(
        "animate", image=png(), prompt="clouds", model=SEEDANCE_25, duration=20, audio=False
    )
    await delivered(discord_fake, 2)

    (old,) = submits_to(runcomfy_fake, SEEDANCE_15)  # the operator's first: the default
    assert set(old) == {
        "prompt", "first_frame_image_url", "resolution", "ratio", "duration",
        "generate_audio", "camera_fixed",
    }  # fmt: skip
    assert old["duration"] == 12 and old["resolution"] == "480p"
    (new,) = submits_to(runcomfy_fake, SEEDANCE_25)
    assert set(new) == {"prompt", "image", "duration", "generate_audio"}
    assert (new["duration"], new["generate_audio"]) == (20, False)
    assert not [r for r in runcomfy_fake.requests if r.endpoint == "submit" and r.json is None]

    # Each job keeps its model and the exact body it sent.
    jobs = await two_models.jobs.store.list_for_user(discord_fake.author.id)
    by_model = {job.model_id: job for job in jobs}
    assert by_model[SEEDANCE_25].body == new and by_model[SEEDANCE_15].body == old
    assert "Seedance 2.5 · 720p" in state_of(status_message(discord_fake, second)) or any(
        "Seedance 2.5" in str(e.embeds) for e in status_message(discord_fake, second).edits
    )
    assert status_message(discord_fake, first).embeds


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"duration": 13}, "does not take 13"),  # the first model: 4 to 12
        ({"model": SEEDANCE_25, "duration": 31}, "does not take 31"),  # the second: 4 to 30
        ({"model": SEEDANCE_25, "ratio": "16:9"}, "takes the shape of the video from your image"),
        ({"model": SEEDANCE_25, "resolution": "1080p"}, "always makes 720p videos"),
        ({"model": "someone/else/image-to-video"}, "not available"),
    ],
)
async def test_a_value_the_model_does_not_take_is_refused_privately_and_nothing_is_sent(
    two_models: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    options: dict[str, object],
    refusal: str,
) -> None:
    ix = await discord_fake.invoke("animate", image=png(), prompt="waves", **options)
    answer = await reply(discord_fake, ix)
    assert ix.ephemeral and refusal in answer.content
    assert runcomfy_fake.count("submit") == 0
    assert await two_models.jobs.store.list_for_user(discord_fake.author.id) == []


async def test_suggestions_follow_the_model_already_chosen(
    two_models: AnimateBot, discord_fake: FakeDiscord
) -> None:
    first = await discord_fake.autocomplete("animate", "duration", "1")
    assert [c["value"] for c in first] == [10, 11, 12]
    second = await discord_fake.autocomplete("animate", "duration", "1", model=SEEDANCE_25)
    assert [c["value"] for c in second] == list(range(10, 20))
    assert await discord_fake.autocomplete("animate", "ratio", "", model=SEEDANCE_25) == []
    ratios = await discord_fake.autocomplete("animate", "ratio", "", locale="fr")
    assert {"name": "adaptatif", "value": "adaptive"} in ratios or any(
        c["value"] == "adaptive" and c["name"] != "adaptive" for c in ratios
    )
    models = await discord_fake.autocomplete("animate", "model", "")
    assert [c["value"] for c in models] == BOTH
    assert "≈" in models[1]["name"] and "Seedance 2.5" in models[1]["name"]


async def test_a_changed_schema_is_followed_after_a_restart(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    await runner.start(runcomfy_model_ids=[SEEDANCE_25])
    refused = await discord_fake.invoke("animate", image=png(), prompt="p", duration=40)
    assert "does not take 40" in (await reply(discord_fake, refused)).content
    longer = seedance_25()
    longer["properties"]["duration"]["maximum"] = 60
    runcomfy_fake.host(SEEDANCE_25, longer)
    await runner.restart()
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", duration=40)
    await delivered(discord_fake)
    assert submits_to(runcomfy_fake, SEEDANCE_25)[-1]["duration"] == 40
    assert ix.response_type == 5


async def test_a_start_while_runcomfy_is_down_runs_on_the_last_schema_read(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    await runner.start(runcomfy_model_ids=BOTH)
    await runner.stop()
    runcomfy_fake.inject("model", "503", times=100)
    bot = await runner.start()
    assert [m.model_id for m in bot.services.models.available()] == BOTH
    runcomfy_fake.reset()
    runcomfy_fake.script(Timeline())
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25)
    await delivered(discord_fake)


async def test_one_of_two_models_retired_mid_run_leaves_the_other_working(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    models = two_models.services.models
    runcomfy_fake.models[SEEDANCE_15].retired = True
    await models.refresh()
    await models.refresh()  # a 404 is confirmed before the model is called gone
    assert [m.model_id for m in models.available()] == [SEEDANCE_25]
    # One alert, naming the setting to change.
    alerts = [m for m in discord_fake.channel_messages() if "RUNCOMFY_MODEL_IDS" in m.content]
    assert len(alerts) <= 1  # posted only where ADMIN_CHANNEL_ID is set
    named = await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_15)
    assert "not available" in (await reply(discord_fake, named)).content
    # The default was the retired one: the next available model makes the video.
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert len(submits_to(runcomfy_fake, SEEDANCE_25)) == 1
    assert ix.response_type == 5


async def test_a_server_restricted_to_one_model(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke("admin models", user=discord_fake.admin, deny=SEEDANCE_15)
    assert "Seedance 2.5" in (await reply(discord_fake, ix)).content
    refused = await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_15)
    assert "do not offer that model" in (await reply(discord_fake, refused)).content
    offered = await discord_fake.autocomplete("animate", "model", "")
    assert [c["value"] for c in offered] == [SEEDANCE_25]
    await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert runcomfy_fake.count("submit") == 1 and submits_to(runcomfy_fake, SEEDANCE_25)


async def test_again_remix_and_higher_keep_the_source_jobs_model(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    runcomfy_fake.host(SEEDANCE_25_1080, seedance_25(), base_price_usd=0.7)
    bot = await runner.start(runcomfy_model_ids=[SEEDANCE_15, SEEDANCE_25, SEEDANCE_25_1080])
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25, duration=7)
    (video,) = await delivered(discord_fake)
    # A higher resolution of a model whose resolution is in its id: its sibling model.
    labels = [c.get("label", "") for row in video.components for c in row["components"]]
    assert any("1080p" in label for label in labels)
    await press(discord_fake, video, "Again")
    await delivered(discord_fake, 2)
    again = submits_to(runcomfy_fake, SEEDANCE_25)
    assert len(again) == 2 and again[1]["duration"] == 7
    higher = next(label for label in labels if "1080p" in label)
    await press(discord_fake, video, higher)
    await delivered(discord_fake, 3)
    (sibling,) = submits_to(runcomfy_fake, SEEDANCE_25_1080)
    assert sibling["duration"] == 7 and "first_frame_image_url" not in sibling
    jobs = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert {j.model_id for j in jobs} == {SEEDANCE_25, SEEDANCE_25_1080}
    assert all(j.status is JobStatus.DELIVERED for j in jobs)


async def test_the_models_options_reach_discord_in_one_command(
    two_models: AnimateBot, discord_fake: FakeDiscord
) -> None:
    command = discord_fake.command("animate")
    names = [o["name"] for o in command["options"]]
    assert names == [
        "image", "prompt", "model", "resolution", "ratio", "duration", "audio", "camera_fixed",
        "private",
    ]  # fmt: skip


async def test_one_model_has_no_model_option(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    names = [o["name"] for o in discord_fake.command("animate")["options"]]
    assert "model" not in names
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    status = await reply(discord_fake, ix)
    await wait_state(discord_fake, status, "Done")
    assert "Seedance v1.5 pro" in str(status.embeds)
