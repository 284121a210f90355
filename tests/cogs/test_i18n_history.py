"""French end to end: /history, /history-clear and the last resort's apology.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

import sqlite3

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.bot.i18n_helpers import click
from tests.cogs.french import NBSP, NNBSP
from tests.cogs.test_history import reply, seed
from tests.fakes.discord import FakeDiscord
from tests.models import options


async def test_history_clear_asks_and_answers_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    await seed(bot, discord_fake.author, 5)  # 4 finished, 1 queued
    ask = await reply(discord_fake, await discord_fake.invoke("history-clear", locale="fr"))
    assert ask.ephemeral
    assert ask.content.startswith(
        "Supprimer 4 vidéos terminées de votre historique, avec leurs prompts, images "
        f"et liens{NNBSP}? Les vidéos en cours restent et seront publiées"
    )
    labels = [item.get("label") for row in ask.components for item in row["components"]]
    assert labels == ["Supprimer mes vidéos terminées", "Les garder"]
    await click(discord_fake, ask, "Les garder", "fr")
    assert ask.content == "Rien n'a été supprimé." and ask.components == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 5

    ask = await reply(discord_fake, await discord_fake.invoke("history-clear", locale="fr"))
    await click(discord_fake, ask, "Supprimer mes vidéos terminées", "fr")
    assert ask.content == (
        "4 vidéos terminées supprimées de votre historique. Les vidéos en cours restent."
    )
    nothing = await reply(discord_fake, await discord_fake.invoke("history-clear", locale="fr"))
    assert nothing.content.startswith("Vous n'avez aucune vidéo terminée à supprimer.")


async def test_history_shows_a_stored_english_refusal_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    # As the bot stores a 422: our English sentence around the service's own words.
    stored = "The video service refused the request: Input image width must be >= 300"
    (_, failed) = await seed(bot, discord_fake.author, 2)
    assert failed.status is JobStatus.FAILED and failed.id is not None
    job = await bot.jobs.store.update(failed.id, error=stored, options=options(ratio="adaptive"))
    page = await reply(discord_fake, await discord_fake.invoke("history", locale="fr"))
    row = page.embeds[0]["description"]
    assert "The video service" not in row and "Input image" not in row
    assert "Le service vidéo n'a pas pu lire l'image" in row and "adaptatif" in row
    detail = await reply(
        discord_fake, await discord_fake.invoke("history", job=job.id, locale="fr")
    )
    fields = {f["name"]: f["value"] for f in detail.embeds[0]["fields"]}
    assert fields["État"].startswith(f"⚠️ Échec{NBSP}: Le service vidéo n'a pas pu lire")
    # The service's words, for its author only, quoted: never as our sentence.
    assert fields["Réponse du service vidéo"] == "> Input image width must be >= 300"


async def test_a_history_detail_offers_animate_again_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    (job,) = await seed(bot, discord_fake.author, 1)
    detail = await reply(
        discord_fake, await discord_fake.invoke("history", job=job.id, locale="fr")
    )
    labels = [item.get("label") for row in detail.components for item in row["components"]]
    assert "Animer à nouveau" in labels


async def test_the_last_resort_apologises_in_the_users_language(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    with sqlite3.connect(bot.settings.database_path) as db:
        db.execute("DROP TABLE jobs")
    answer = await reply(discord_fake, await discord_fake.invoke("history", locale="fr"))
    assert answer.ephemeral and answer.content == (
        "Un problème est survenu de mon côté et le propriétaire du bot a été prévenu. "
        "Réessayez dans un moment."
    )
