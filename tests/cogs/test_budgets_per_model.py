"""A server's budget counts each video at its own model's price."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import BOTH, delivered
from tests.cogs.test_admin import admin, answer, refused_animate
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_25


async def test_a_budget_refuses_the_dear_model_and_admits_the_cheap_one(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Seedance 2.5 at $0.35/s against 1.5 pro's $0.024/s: a default video of each is
    # about $3.50 and $0.24. A $2 day holds several of the one and none of the other.
    runcomfy_fake.host(SEEDANCE_25, seedance_25(), base_price_usd=0.35)
    bot: AnimateBot = await runner.start(runcomfy_model_ids=BOTH)
    await admin(discord_fake, "limits", daily_spend_usd=2.0)

    refused = await refused_animate(discord_fake, model=SEEDANCE_25)
    assert "budget" in answer(discord_fake, refused)
    assert runcomfy_fake.submits == []

    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await discord_fake.invoke("animate", image=png(), prompt="waves", model=SEEDANCE_15)
    await delivered(discord_fake)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.model_id == SEEDANCE_15 and job.estimate_usd is not None
    assert job.estimate_usd < 1.0
