"""A refusal of an option names it as the reader's picker does: a French member typed
`durée:` and `format:`, not `duration:` and `ratio:`.

The expected sentences are written out here, not read from the catalogs.
"""

from __future__ import annotations

from tests.cogs.animate.helpers import png
from tests.cogs.test_history import reply
from tests.cogs.test_i18n_punctuation import french_spacing_faults
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_25


async def refusal(fake: FakeDiscord, locale: str, **options: object) -> str:
    ix = await fake.invoke("animate", image=png(), prompt="p", locale=locale, **options)
    said = (await reply(fake, ix)).content
    assert ix.ephemeral
    return said


async def test_refusals_name_options_as_the_french_picker_does(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    await runner.start(runcomfy_model_ids=[SEEDANCE_15, SEEDANCE_25])
    # French names of /animate's options, as Discord's picker shows them.
    options = discord_fake.command("animate")["options"]
    shown = {o["name"]: (o.get("name_localizations") or {}).get("fr") for o in options}
    assert (shown["duration"], shown["ratio"], shown["resolution"]) == (
        "durée",
        "format",
        "résolution",
    )

    not_taken = await refusal(discord_fake, "fr", duration=3)
    assert " pour durée." in not_taken and "duration" not in not_taken
    ratio = await refusal(discord_fake, "fr", model=SEEDANCE_25, ratio="16:9")
    assert "laissez format de côté" in ratio and "ratio" not in ratio
    fixed = await refusal(discord_fake, "fr", model=SEEDANCE_25, resolution="1080p")
    assert "laissez résolution de côté" in fixed and "resolution " not in fixed
    assert french_spacing_faults(not_taken + ratio + fixed) == []
    assert runcomfy_fake.count("submit") == 0

    # English readers keep the English names.
    assert " for duration." in await refusal(discord_fake, "en-US", duration=3)
