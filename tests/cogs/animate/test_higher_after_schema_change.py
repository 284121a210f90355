"""Higher resolution pressed after the model stopped making that resolution."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import delivered
from tests.cogs.animate.test_results import answer
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_higher_says_the_model_no_longer_makes_that_resolution(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # It said "the model is no longer offered", sending the member to another model
    # when this one still makes every other video.
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    (video,) = await delivered(discord_fake)
    hosted = runcomfy_fake.models[runcomfy_fake.model_id]
    hosted.input_schema["properties"]["resolution"]["enum"] = ["480p", "720p"]
    await bot.services.models.refresh()

    pressed = await discord_fake.click(video, "animate:higher:1:1080p")
    said = await answer(discord_fake, pressed)
    assert said.ephemeral and "1080p" in said.content, said.content
    assert "no longer offered" not in said.content
    assert len(runcomfy_fake.submits) == 1
