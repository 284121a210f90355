"""French typography holds in what the bot writes, not only in each catalog text: the
punctuation the code puts between catalog texts follows it too (a no-break space before
':', a thin one before ';', '!' and '?')."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_model_own_options import MOTION_MODEL, QUICK, bot_with_motion
from tests.cogs.animate.test_models import delivered
from tests.cogs.french import NBSP, NNBSP
from tests.cogs.test_history import reply
from tests.cogs.test_i18n_refusals import private_answer
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy

__all__ = ["bot_with_motion"]  # the fixture, used by name


def french_spacing_faults(text: str) -> list[str]:
    plain = text.replace("://", "")
    faults = []
    for i, char in enumerate(plain):
        if char in ";!?" and i and plain[i - 1] != NNBSP:
            faults.append(plain[max(0, i - 20) : i + 1])
        if char == ":" and i and not plain[i - 1].isdigit() and plain[i - 1] != NBSP:
            faults.append(plain[max(0, i - 20) : i + 1])
    return faults


async def test_what_an_image_must_be_is_listed_with_french_spacing(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke("animate", image=b"not an image", prompt="x", locale="fr")
    text = await private_answer(discord_fake, ix)
    assert "Images acceptées" in text
    assert french_spacing_faults(text) == []


async def test_a_models_own_option_is_named_with_french_spacing(
    bot_with_motion: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke(
        "animate", image=png(), prompt="p", model=MOTION_MODEL, motion_strength="wild", locale="fr"
    )
    (video,) = await delivered(discord_fake)
    assert f"motion_strength{NBSP}: wild" in video.content
    (job,) = await bot_with_motion.jobs.store.list_for_user(discord_fake.author.id)
    detail = await discord_fake.invoke("history", job=job.id, locale="fr")
    (embed,) = (await reply(discord_fake, detail)).embeds
    assert any(f"motion_strength{NBSP}: wild" in field["value"] for field in embed["fields"])
