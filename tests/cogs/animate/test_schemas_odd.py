"""A model whose schema RunComfy publishes with nonsense in an option: infinite or
fractional bounds, numbers past what a Discord option carries, thousands of values, values
no suggestion can carry. The bot starts, offers what can be picked safely, and the member
reads a clear answer; nothing outside the schema is sent."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_models import delivered, submits_to
from tests.cogs.animate.test_results import button
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, seedance_25

ODD = "vendor/odd-video/image-to-video"
QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


def with_steps(steps: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    """Seedance 2.5's schema with one more option, `steps`, as given."""
    schema = seedance_25()
    schema["properties"]["steps"] = {"title": "Steps", "description": "Steps.", **steps}
    if required:
        schema["required"] = [*schema.get("required", []), "steps"]
    return schema


async def start_with(runner: BotRunner, runcomfy: FakeRunComfy, schema: dict[str, Any]) -> None:
    runcomfy.host(ODD, schema)
    await runner.start(runcomfy_model_ids=[SEEDANCE_15, ODD])


async def test_infinite_bounds_on_a_required_option_do_not_stop_the_start(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # 1e999 is a valid JSON number, read as infinity.
    steps = {"type": "integer", "minimum": -math.inf, "maximum": math.inf}
    await start_with(runner, runcomfy_fake, with_steps(steps, required=True))
    # No bound, no default: the bot cannot fill it, so that model alone is not offered.
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert submits_to(runcomfy_fake, ODD) == []
    offered = [option["name"] for option in discord_fake.command("animate")["options"]]
    assert "model" not in offered and "steps" not in offered


async def test_an_integer_range_with_fractional_bounds_offers_and_sends_whole_numbers_within(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    steps = {"type": "integer", "minimum": 0.5, "maximum": 3.5}
    await start_with(runner, runcomfy_fake, with_steps(steps, required=True))
    offered = await discord_fake.autocomplete("animate", "steps", "", model=ODD)
    assert [choice["value"] for choice in offered] == [1, 2, 3]
    # Required, with no default: the smallest whole number it takes, not 0.
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD)
    await delivered(discord_fake)
    assert [body["steps"] for body in submits_to(runcomfy_fake, ODD)] == [1]


async def test_a_value_refused_among_ten_thousand_is_answered_in_one_readable_message(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    styles = {"type": "string", "enum": [f"style-{n}" for n in range(10_000)]}
    await start_with(runner, runcomfy_fake, with_steps(styles))
    wrong = await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD, steps="nope")
    said = (await reply(discord_fake, wrong)).content
    assert wrong.ephemeral and len(said) <= 2000
    assert "nope" in said and "style-0" in said and "went wrong" not in said
    assert runcomfy_fake.count("submit") == 0


async def test_bounds_past_what_an_option_carries_are_answered_and_suggested(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Numbers past 2**53: a Discord number option carries none of them exactly.
    steps = {"type": "integer", "minimum": -1e30, "maximum": 1e30}
    await start_with(runner, runcomfy_fake, with_steps(steps))
    offered = await discord_fake.autocomplete("animate", "steps", "", model=ODD)
    assert [choice["value"] for choice in offered][:2] == [-(2**53) + 1, -(2**53) + 2]
    wrong = await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD, steps="x")
    said = (await reply(discord_fake, wrong)).content
    assert wrong.ephemeral and "went wrong" not in said and "9,007,199,254,740,991" in said
    assert runcomfy_fake.count("submit") == 0


async def test_values_no_suggestion_can_carry_are_not_offered_and_the_rest_are(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # A value twice, an empty one, one longer than a suggestion or a select carries.
    styles = {"type": "string", "enum": ["calm", "calm", "", "w" * 300, "wild"], "default": "calm"}
    schema = with_steps(styles)
    schema["properties"]["seed"] = {"type": "integer", "enum": [1, 10**30, 2], "default": 1}
    await start_with(runner, runcomfy_fake, schema)
    offered = await discord_fake.autocomplete("animate", "steps", "", model=ODD)
    assert [choice["value"] for choice in offered] == ["calm", "wild"]
    seeds = await discord_fake.autocomplete("animate", "seed", "", model=ODD)
    assert [choice["value"] for choice in seeds] == [1, 2]

    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD, steps="wild")
    (video,) = await delivered(discord_fake)
    # The Remix form opens with what can be picked.
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None
    selects = {row["label"]: row["component"] for row in shown.modal["components"][1:]}
    assert [option["value"] for option in selects["Steps"]["options"]] == ["calm", "wild"]
    prompt_input = shown.modal["components"][0]["components"][0]
    steps = selects["Steps"]
    await discord_fake.submit_modal(
        shown, {prompt_input["custom_id"]: "p", steps["custom_id"]: ["calm"]}
    )
    await delivered(discord_fake, 2)
    assert [body["steps"] for body in submits_to(runcomfy_fake, ODD)] == ["wild", "calm"]


async def test_a_model_with_an_enormous_or_empty_option_name_still_makes_videos(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    schema = seedance_25()
    enormous = "mode_" + "x" * 5000
    schema["properties"][enormous] = {"type": "string", "enum": ["a", "b"], "default": "b"}
    schema["properties"][""] = {"type": "string", "enum": ["c", "d"], "default": "d"}
    await start_with(runner, runcomfy_fake, schema)
    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD)
    (video,) = await delivered(discord_fake)
    assert [body[enormous] for body in submits_to(runcomfy_fake, ODD)] == ["b"]
    assert len(video.content) <= 2000
    # /history's details, and the Remix form (labels of 1 to 45 characters).
    assert runner.bot is not None
    (job,) = await runner.bot.jobs.store.list_for_user(discord_fake.author.id)
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    assert detail.embeds and "went wrong" not in detail.content
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None
    prompt_input = shown.modal["components"][0]["components"][0]
    await discord_fake.submit_modal(shown, {prompt_input["custom_id"]: "p"})
    await delivered(discord_fake, 2)


async def test_a_decimal_range_is_not_called_whole_numbers_in_its_refusal(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await start_with(
        runner, runcomfy_fake, with_steps({"type": "float", "minimum": 0, "maximum": 1})
    )
    for locale, takes in (("en-US", "a number from 0 to 1."), ("fr", "un nombre de 0 à 1.")):
        wrong = await discord_fake.invoke(
            "animate", image=png(), prompt="p", model=ODD, steps=2.5, locale=locale
        )
        assert takes in (await reply(discord_fake, wrong)).content
    assert runcomfy_fake.count("submit") == 0


async def test_a_model_described_with_odd_words_beside_its_schema_is_offered(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    odd_words = {"pricing_note": {"en": "per second"}, "model_id": 7, "display_name": ["x"]}
    runcomfy_fake.host(ODD, seedance_25(), answer_fields=odd_words)
    await runner.start(runcomfy_model_ids=[SEEDANCE_15, ODD])
    offered = await discord_fake.autocomplete("animate", "model", "")
    assert ODD in [choice["value"] for choice in offered]
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=ODD)
    await delivered(discord_fake)
    assert len(submits_to(runcomfy_fake, ODD)) == 1


async def test_a_value_with_a_line_break_is_not_offered(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Picked, it would write RunComfy's heading into the status and the video's message.
    styles = {"type": "string", "enum": ["calm", "calm\n# 🎁 FREE NITRO"], "default": "calm"}
    await start_with(runner, runcomfy_fake, with_steps(styles))
    offered = await discord_fake.autocomplete("animate", "steps", "", model=ODD)
    assert [choice["value"] for choice in offered] == ["calm"]
    wrong = await discord_fake.invoke(
        "animate", image=png(), prompt="p", model=ODD, steps="calm\n# 🎁 FREE NITRO"
    )
    said = (await reply(discord_fake, wrong)).content
    assert wrong.ephemeral and "\n#" not in said and runcomfy_fake.count("submit") == 0


@pytest.mark.parametrize(
    "rules",
    [
        [("width_pixels>", 3000), ("width_pixels<", 300)],
        [("width/height>", 3), ("width/height<", 0.2)],
        [("width_pixels>=", 300), ("width_pixels<=", 310), ("width/height>", 2)],
    ],
    ids=["sides", "shapes", "sides-and-shape"],
)
async def test_a_model_whose_image_rules_admit_no_image_is_not_offered(
    runner: BotRunner,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    rules: list[tuple[str, float]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = seedance_25()
    schema["properties"]["image"]["validations"] = [
        {"validation_rule": rule, "validation_value": value} for rule, value in rules
    ]
    await start_with(runner, runcomfy_fake, schema)
    # Offered, it refused every image with a rule no image can meet ("crop it and retry").
    offered = [option["name"] for option in discord_fake.command("animate")["options"]]
    assert "model" not in offered
    assert any("admit no image" in r.getMessage() for r in caplog.records)


async def test_a_shape_refusal_claims_no_common_shape_the_model_refuses(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    schema = seedance_25()
    schema["properties"]["image"]["validations"] = [
        {"validation_rule": "width/height>", "validation_value": 0.8},
        {"validation_rule": "width/height<", "validation_value": 1.25},
    ]
    await start_with(runner, runcomfy_fake, schema)
    for locale, claim in (("en-US", "16:9"), ("fr", "16:9")):
        ix = await discord_fake.invoke(
            "animate", image=png(1600, 900), prompt="p", model=ODD, locale=locale
        )
        said = (await reply(discord_fake, ix)).content
        assert "0.8" in said or "0,8" in said
        assert claim not in said  # 16:9 is what was refused: "16:9 fits" would be false
    assert runcomfy_fake.count("submit") == 0


async def test_a_model_option_named_as_another_is_in_french_keeps_the_commands_synced(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # `format` is what the French picker calls ratio; `son`, audio.
    schema = with_steps({"type": "string", "enum": ["mp4", "webm"], "default": "mp4"})
    schema["properties"]["format"] = schema["properties"].pop("steps")
    schema["properties"]["son"] = {"type": "boolean", "default": False}
    await start_with(runner, runcomfy_fake, schema)
    options = discord_fake.command("animate")["options"]
    shown = [(o.get("name_localizations") or {}).get("fr", o["name"]) for o in options]
    assert len(shown) == len(set(shown)) and "format" in shown
    offered = await discord_fake.autocomplete("animate", "model", "")
    assert ODD in [choice["value"] for choice in offered]
