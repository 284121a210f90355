"""A model option with a wide integer range (a seed, 0..2^31-1, as many video models
have): its suggestions come at once whatever is typed, and the bot keeps answering.

The bot runs as its own process: a bot busy counting through the range answers no one,
and the fake Discord's autocomplete then gets nothing within Discord's 3 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15, seedance_25

SEEDED = "vendor/seeded-video/image-to-video"
TOP = 2**31 - 1


def with_seed() -> dict[str, Any]:
    schema = seedance_25()
    schema["properties"]["seed"] = {
        "title": "Seed",
        "description": "The same seed gives the same video.",
        "type": "integer",
        "minimum": 0,
        "maximum": TOP,
        "default": 0,
    }
    return schema


async def test_a_seed_range_is_suggested_at_once_whatever_is_typed(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    runcomfy_fake.host(SEEDED, with_seed())
    settings = settings_for_fakes(
        discord_fake, runcomfy_fake, tmp_path / "bot.db", runcomfy_model_ids=[SEEDANCE_15, SEEDED]
    )
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:

        async def values(typed: str) -> list[Any]:
            offered = await discord_fake.autocomplete("animate", "seed", typed, model=SEEDED)
            return [choice["value"] for choice in offered]

        # The last number of the range: found by arithmetic, not by counting to it.
        assert await values(str(TOP)) == [TOP]
        assert await values("9") == [9, *range(90, 100), *range(900, 914)]
        assert await values("") == list(range(25))
        assert await values("0") == [0]
        # Nothing in the range starts with these: nothing, at once.
        assert await values("3000000000") == []
        assert await values("abc") == []
        assert await values("-5") == []
        assert await values("9" * 5000) == []  # past Python's 4,300 digits for int()
        assert "Traceback" not in (tmp_path / "bot.log").read_text()
        # Still answering: the model's own option is there.
        assert await values("12") == [12, *range(120, 130), *range(1200, 1214)]
    finally:
        await bot.stop()
