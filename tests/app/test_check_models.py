"""`python -m bot check` on several models: what each offers, or why it cannot be used."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.app.cli_helpers import check_in_process, line_of
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_25

FIRST_LAST = "vendor/first-last-frame/image-to-video"


def first_and_last_frame() -> dict[str, object]:
    """A schema the bot cannot use: it requires a second image."""
    schema = seedance_25()
    schema["properties"]["end_image"] = {"type": "string", "title": "End image"}
    schema["required"].append("end_image")
    return schema


def three_models(
    settings: Settings, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> Settings:
    """Seedance 1.5 and 2.5, usable, and a first-and-last-frame model, not: in that order."""
    discord_fake.token = DISCORD_TOKEN
    runcomfy_fake.host(SEEDANCE_25, seedance_25(), base_price_usd=0.35)
    runcomfy_fake.host(FIRST_LAST, first_and_last_frame())
    return settings.model_copy(
        update={"runcomfy_model_ids": [SEEDANCE_15, SEEDANCE_25, FIRST_LAST]}
    )


async def test_check_says_what_each_model_offers_and_why_one_cannot_be_used(
    settings: Settings,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = three_models(settings, discord_fake, runcomfy_fake)
    code, lines = await check_in_process(models, discord_fake, capsys)
    first = line_of(lines, f"✓ model {SEEDANCE_15}")
    assert "`first_frame_image_url`" in first and "ratio (16:9" in first
    second = line_of(lines, f"✓ model {SEEDANCE_25}")
    assert "`image`" in second and "duration (4 to 30)" in second and "ratio (" not in second
    unusable = line_of(lines, f"✗ model {FIRST_LAST}")
    assert "requires `end_image`, which the bot cannot fill" in unusable
    assert "RUNCOMFY_MODEL_IDS" in unusable
    # The bot would run on the two it can use; the id that does nothing is still to fix.
    assert code == 1

    # Alone, a model the bot cannot use fails the check too.
    alone = settings.model_copy(update={"runcomfy_model_ids": [FIRST_LAST]})
    code, lines = await check_in_process(alone, discord_fake, capsys)
    assert code == 1
    assert "cannot fill" in line_of(lines, f"✗ model {FIRST_LAST}")


async def test_check_asks_for_every_model_at_once(
    settings: Settings,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Models read one after the other make a stalling RunComfy cost CHECK_TIMEOUT_SECONDS
    # per model before the operator sees a line: all are asked before any answers.
    models = three_models(settings, discord_fake, runcomfy_fake)
    runcomfy_fake.inject("model", "slow", delay=1.0, times=3)
    code, lines = await check_in_process(models, discord_fake, capsys)
    asked = [r.at for r in runcomfy_fake.requests if r.endpoint == "model"]
    assert len(asked) == 3
    assert max(asked) - min(asked) < 1.0, asked  # the third was asked before the first answer
    # The lines keep the order of RUNCOMFY_MODEL_IDS.
    named = [line.split()[2].rstrip(":") for line in lines if line[2:].startswith("model ")]
    assert named == [SEEDANCE_15, SEEDANCE_25, FIRST_LAST]
    assert code == 1


async def test_check_says_how_long_a_prompt_a_model_takes(
    settings: Settings,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = seedance_25()
    schema["properties"]["prompt"].update(minLength=3, maxLength=800)
    runcomfy_fake.host(SEEDANCE_25, schema)
    discord_fake.token = DISCORD_TOKEN
    both = settings.model_copy(update={"runcomfy_model_ids": [SEEDANCE_15, SEEDANCE_25]})
    _, lines = await check_in_process(both, discord_fake, capsys)
    assert "prompts of 3 to 800 characters" in line_of(lines, f"✓ model {SEEDANCE_25}")
    assert "characters" not in line_of(lines, f"✓ model {SEEDANCE_15}")
