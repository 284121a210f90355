"""A model whose schema bounds its prompt's length (`maxLength`, `minLength`): a prompt
outside them is refused privately, saying how long a prompt the model takes and how long
the member's is, before anything is stored or sent (RunComfy would answer 422)."""

from __future__ import annotations

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import delivered
from tests.cogs.animate.test_results import button
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, seedance_15

QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


async def bound_prompt(bot: AnimateBot, runcomfy: FakeRunComfy, **bounds: int) -> None:
    """RunComfy now bounds the prompt; the bot reads it at its refresh."""
    hosted = runcomfy.models[runcomfy.model_id]
    hosted.input_schema["properties"]["prompt"].update(bounds)
    await bot.services.models.refresh()


async def said(fake: FakeDiscord, ix: FakeInteraction) -> str:
    await fake.wait_for(lambda: ix.original_id or ix.followup_ids, within=10)
    message = fake.messages[ix.original_id or ix.followup_ids[0]]
    assert message.ephemeral
    return message.content


async def test_a_prompt_over_the_models_max_length_is_refused_privately_with_both_lengths(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await bound_prompt(bot, runcomfy_fake, maxLength=120)
    ix = await discord_fake.invoke("animate", image=png(), prompt="a" * 150)
    text = await said(discord_fake, ix)
    assert "120" in text and "150" in text and "went wrong" not in text, text
    assert runcomfy_fake.count("submit") == 0
    assert list(await bot.jobs.store.list_for_user(discord_fake.author.id)) == []


async def test_a_prompt_under_the_models_min_length_is_refused_in_the_readers_language(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await bound_prompt(bot, runcomfy_fake, minLength=12)
    ix = await discord_fake.invoke("animate", image=png(), prompt="un chat", locale="fr")
    text = await said(discord_fake, ix)
    assert "12" in text and "7" in text and "prompt" in text, text
    assert runcomfy_fake.count("submit") == 0


async def test_the_remix_form_takes_at_most_the_models_length_and_refuses_a_longer_prompt(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    (video,) = await delivered(discord_fake)
    await bound_prompt(bot, runcomfy_fake, maxLength=40)
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None
    prompt_input = shown.modal["components"][0]["components"][0]
    assert prompt_input["max_length"] == 40
    # The model takes less still by the time the form comes back.
    await bound_prompt(bot, runcomfy_fake, maxLength=20)
    sent = await discord_fake.submit_modal(shown, {prompt_input["custom_id"]: "b" * 30})
    text = await said(discord_fake, sent)
    assert "20" in text and "30" in text, text
    assert runcomfy_fake.count("submit") == 1


@pytest.mark.parametrize("press", ["again", "higher"])
async def test_a_press_after_the_model_took_shorter_prompts_says_so_and_sends_nothing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, press: str
) -> None:
    # Again and Higher resolution keep the source's prompt: the member is sent to Remix.
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="a cat yawns slowly")
    (video,) = await delivered(discord_fake)
    await bound_prompt(bot, runcomfy_fake, maxLength=10)
    custom_id = button(video, "again") if press == "again" else "animate:higher:1:1080p"
    pressed = await discord_fake.click(video, custom_id)
    text = await said(discord_fake, pressed)
    assert "10" in text and "18" in text and "Remix" in text, text
    assert runcomfy_fake.count("submit") == 1


async def test_with_one_model_the_commands_prompt_option_takes_its_max_length(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    schema = seedance_15()
    schema["properties"]["prompt"]["maxLength"] = 300
    runcomfy_fake.host(SEEDANCE_15, schema)
    await runner.start()
    options = discord_fake.command("animate")["options"]
    prompt = next(option for option in options if option["name"] == "prompt")
    assert prompt["max_length"] == 300
