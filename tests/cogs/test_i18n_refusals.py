"""French end to end: /animate's refusals, before and after the defer.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

import io
import random

from PIL import Image

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, start_queued
from tests.cogs.animate.test_results import button, delivered
from tests.cogs.french import NBSP, NNBSP
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy


async def private_answer(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The ephemeral reply to a command refused before any defer."""
    await fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    return fake.messages[ix.original_id].content  # type: ignore[index]


async def nothing_started(bot: AnimateBot, fake: FakeDiscord, runcomfy: FakeRunComfy) -> None:
    assert runcomfy.submits == []
    assert await bot.jobs.store.count_for_user(fake.author.id) == 0


async def test_a_too_small_image_is_refused_in_french_with_the_models_bounds(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke("animate", image=png(120, 100), prompt="x", locale="fr")
    text = await private_answer(discord_fake, ix)
    problem, accepted = text.split("\n")
    assert problem == (
        f"Votre image fait 120{NBSP}×{NBSP}100{NBSP}pixels, elle est trop petite{NBSP}: "
        f"la largeur et la hauteur de l'image doivent être supérieures à 300{NBSP}pixels "
        f"(j'agrandis pour vous les images dont les côtés font au moins 150{NBSP}pixels)."
    )
    # The bounds read from the model's schema, in French, decimal commas included.
    assert accepted.startswith(f"Images acceptées{NBSP}: PNG, JPEG, WebP ou GIF{NNBSP};")
    assert f"supérieures à 300{NBSP}pixels et inférieures à 6000{NBSP}pixels" in accepted
    assert "format (largeur/hauteur) compris entre 0,4 et 2,5" in accepted
    assert f"fichier de moins de 30{NBSP}Mo" in accepted
    await nothing_started(bot, discord_fake, runcomfy_fake)

    # The same image for an English reader: English, untouched by the French one.
    english = await private_answer(
        discord_fake, await discord_fake.invoke("animate", image=png(120, 100), prompt="x")
    )
    assert english.startswith("Your image is 120×100 px, too small to use")


async def test_an_aspect_refusal_writes_numbers_the_french_way(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke("animate", image=png(1500, 500), prompt="x", locale="fr-CA")
    text = await private_answer(discord_fake, ix)
    assert text.startswith(
        f"Votre image fait 1500{NBSP}×{NBSP}500{NBSP}pixels, soit un format "
        f"(largeur/hauteur) de 3,00{NNBSP}; il doit être compris entre 0,4 et 2,5"
    )
    await nothing_started(bot, discord_fake, runcomfy_fake)


async def test_an_image_refused_after_the_defer_is_answered_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Discord declares a fine picture; the bytes are a PDF (found only after the defer).
    ix = await discord_fake.invoke(
        "animate",
        image=b"%PDF-1.7 not an image",
        prompt="x",
        attachment_meta={
            "filename": "photo.png",
            "content_type": "image/png",
            "width": 800,
            "height": 600,
        },
        locale="fr",
    )
    await discord_fake.wait_for(lambda: ix.followup_ids)
    error = discord_fake.messages[ix.followup_ids[0]]
    assert error.ephemeral
    assert error.content.startswith(
        "`photo.png` est un fichier PDF, un type de fichier que je ne peux pas utiliser."
    )
    await nothing_started(bot, discord_fake, runcomfy_fake)


def noise_png(width: int, height: int) -> bytes:
    """A picture that compresses badly, so its fitted copy stays large."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3)).save(
        out, format="PNG"
    )
    return out.getvalue()


async def test_a_fitted_image_over_the_upload_limit_is_refused_with_a_french_size(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # 290 px high: enlarged to fit, and the copy is over this server's (tiny) upload limit.
    ix = await discord_fake.invoke(
        "animate",
        image=noise_png(700, 290),
        prompt="x",
        attachment_size_limit=125_829,  # 0.12 MiB, under the fitted copy (about 0.2 MiB)
        locale="fr",
    )
    await discord_fake.wait_for(lambda: ix.followup_ids)
    error = discord_fake.messages[ix.followup_ids[0]]
    assert error.ephemeral and error.content == (
        "J'ai dû redimensionner votre image, et le résultat dépasse la limite d'envoi de "
        f"ce serveur (0,1{NBSP}Mo). Essayez une image plus petite."
    )
    assert runcomfy_fake.submits == []


async def test_an_empty_prompt_is_refused_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    ix = await discord_fake.invoke("animate", image=png(), prompt="\u200b\x07", locale="fr")
    assert await private_answer(discord_fake, ix) == (
        "Votre prompt est vide. Décrivez le mouvement voulu, par exemple "
        f"«{NBSP}les vagues déferlent et la caméra pivote vers la gauche{NBSP}»."
    )


async def test_a_quota_refusal_in_french_with_its_plural(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(quota_user_concurrent=1, quota_global_concurrent=2)
    await start_queued(discord_fake, runcomfy_fake)
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", locale="fr")
    assert await private_answer(discord_fake, ix) == (
        "Vous avez déjà 1 vidéo en cours, le maximum à la fois. "
        "Vous pourrez en lancer une autre dès qu'elle sera terminée."
    )
    await start_queued(discord_fake, runcomfy_fake, user=discord_fake.stranger)
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="p", user=discord_fake.moderator, locale="fr"
    )
    assert await private_answer(discord_fake, ix) == (
        "Je fais déjà 2 vidéos en ce moment, ma limite. Réessayez dans quelques minutes."
    )
    assert len(runcomfy_fake.submits) == 2


async def test_a_paused_server_refuses_animate_in_french_with_the_reason_escaped(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await bot.services.guild_admin.pause(discord_fake.guild_id, by=1, reason="**maintenance**")
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", locale="fr")
    assert await private_answer(discord_fake, ix) == (
        "Les admins de ce serveur ont suspendu les nouvelles vidéos pour le moment. "
        f"Raison{NBSP}: \\*\\*maintenance\\*\\*"
    )
    await nothing_started(bot, discord_fake, runcomfy_fake)


async def test_the_remix_form_refuses_an_empty_prompt_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    press = await discord_fake.click(video, button(video, "remix"), locale="fr")
    await discord_fake.wait_for(lambda: press.modal)
    assert press.modal is not None
    prompt_id = press.modal["components"][0]["components"][0]["custom_id"]
    sent = await discord_fake.submit_modal(press, {prompt_id: "\u200b\x07"}, locale="fr")
    assert await private_answer(discord_fake, sent) == (
        "Votre prompt est vide. Décrivez le mouvement voulu, par exemple "
        f"«{NBSP}les vagues déferlent et la caméra pivote vers la gauche{NBSP}»."
    )
    assert len(runcomfy_fake.submits) == 1  # only the first video's
