"""An option only one model has, which the catalogs have no words for: /animate, its
suggestions, its refusals, the Remix form and /history take its words from the schema
(title and description), and only that model is ever sent it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import delivered, submits_to
from tests.cogs.animate.test_results import button, value_labelled
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, seedance_25

MOTION_MODEL = "vendor/motion-video/image-to-video"
QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


def with_motion() -> dict[str, Any]:
    schema = seedance_25()
    schema["properties"]["motion_strength"] = {
        "title": "Motion strength",
        "description": "How much things move in the video.",
        "type": "string",
        "enum": ["calm", "lively", "wild"],
        "default": "calm",
    }
    return schema


@pytest.fixture
async def bot_with_motion(
    runner: BotRunner, runcomfy_fake: FakeRunComfy
) -> AsyncIterator[AnimateBot]:
    runcomfy_fake.host(MOTION_MODEL, with_motion())
    yield await runner.start(runcomfy_model_ids=[SEEDANCE_15, MOTION_MODEL])


async def test_an_option_one_model_has_is_offered_in_the_schemas_words_and_sent_to_it_alone(
    bot_with_motion: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    command = discord_fake.command("animate")
    (motion,) = [o for o in command["options"] if o["name"] == "motion_strength"]
    assert motion["description"] == "How much things move in the video."
    assert motion.get("autocomplete")
    offered = await discord_fake.autocomplete("animate", "motion_strength", "", model=MOTION_MODEL)
    assert [c["value"] for c in offered] == ["calm", "lively", "wild"]
    assert await discord_fake.autocomplete("animate", "motion_strength", "") == []

    # A value the model does not take, and the option on a model that lacks it: refused.
    wrong = await discord_fake.invoke(
        "animate", image=png(), prompt="p", model=MOTION_MODEL, motion_strength="frantic"
    )
    text = (await reply(discord_fake, wrong)).content
    assert wrong.ephemeral and "frantic" in text and "calm" in text and "wild" in text
    lacking = await discord_fake.invoke("animate", image=png(), prompt="p", motion_strength="wild")
    said = (await reply(discord_fake, lacking)).content
    assert lacking.ephemeral and "motion_strength" in said
    assert runcomfy_fake.count("submit") == 0

    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke(
        "animate", image=png(), prompt="p", model=MOTION_MODEL, motion_strength="lively"
    )
    (video,) = await delivered(discord_fake)
    (sent,) = submits_to(runcomfy_fake, MOTION_MODEL)
    assert sent["motion_strength"] == "lively"
    assert "lively" in video.content or "lively" in str(video.embeds)

    # The Remix form labels it with the schema's title and keeps its value.
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None
    selects = {row["label"]: row["component"] for row in shown.modal["components"][1:]}
    strength = selects["Motion strength"]
    assert [o["value"] for o in strength["options"] if o.get("default")] == ["lively"]
    prompt_input = shown.modal["components"][0]["components"][0]
    await discord_fake.submit_modal(
        shown,
        {
            prompt_input["custom_id"]: "p",
            strength["custom_id"]: [value_labelled(strength, "wild")],
        },
    )
    await delivered(discord_fake, 2)
    assert submits_to(runcomfy_fake, MOTION_MODEL)[-1]["motion_strength"] == "wild"
    assert all("motion_strength" not in body for body in submits_to(runcomfy_fake, SEEDANCE_15))

    # /history words it by its field, as the schema names it.
    jobs = await bot_with_motion.jobs.store.list_for_user(discord_fake.author.id)
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=jobs[0].id))
    assert "motion_strength: wild" in str(detail.embeds)
