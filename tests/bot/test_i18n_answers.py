"""Answers in the user's language, end to end: /about, /history, private answers."""

from __future__ import annotations

import discord

from app.client import AnimateBot
from bot import i18n
from tests.bot.i18n_helpers import NBSP, click
from tests.cogs.test_history import reply, seed
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner


async def test_about_answers_in_the_users_language(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    french = await reply(discord_fake, await discord_fake.invoke("about", locale="fr"))
    assert french.ephemeral
    assert french.content.startswith("Je transforme une image en courte vidéo")
    assert french.content == i18n.for_locale("fr")("about.body")
    for locale in ("en-US", "es-ES"):
        english = await reply(discord_fake, await discord_fake.invoke("about", locale=locale))
        assert english.content.startswith("I turn an image into a short video")


async def test_history_pages_and_details_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    jobs = await seed(bot, discord_fake.author, 12)
    page = await reply(discord_fake, await discord_fake.invoke("history", locale="fr"))
    embed = page.embeds[0]
    assert embed["title"] == "Vos vidéos"
    assert embed["footer"]["text"] == f"Page 1 sur 2 · 12 vidéos · filtre{NBSP}: toutes"
    assert f"**n°{NBSP}{jobs[-1].id}**" in embed["description"]
    assert "[Ouvrir la vidéo](https://discord.com/channels/1/2/" in embed["description"]
    assert f"traitée en 1{NBSP}min{NBSP}10{NBSP}s" in embed["description"]
    assert any(
        item.get("label") == "Page 1 sur 2" for row in page.components for item in row["components"]
    )
    select = page.components[1]["components"][0]
    assert select["placeholder"] == "Afficher le détail d'une vidéo"
    assert select["options"][0]["label"] == f"n°{NBSP}{jobs[-1].id} · job 11"

    await click(discord_fake, page, "select", "fr", values=[str(jobs[0].id)])
    detail = page.embeds[0]
    assert detail["title"] == f"Vidéo n°{NBSP}{jobs[0].id}"
    fields = {f["name"]: f["value"] for f in detail["fields"]}
    assert fields["État"] == "✅ Publiée"
    assert (
        fields["Options"] == f"Seedance v1.5 pro · 720p · 9:16 · 6{NBSP}s · avec son · caméra fixe"
    )
    assert fields["Image"] == f"cat.png{NBSP}: 800{NBSP}×{NBSP}600{NBSP}px PNG, 0,1{NBSP}Mo"
    assert fields["En file d'attente"] == f"10{NBSP}s"
    assert fields["Génération"] == f"1{NBSP}min{NBSP}00{NBSP}s"
    assert fields["Coût"] == f"0,12{NBSP}$US"
    assert fields["Référence"] == f"`{jobs[0].request_id}`"
    await click(discord_fake, page, "Retour à la liste", "fr")
    assert page.embeds[0]["title"] == "Vos vidéos"

    failed = await reply(
        discord_fake, await discord_fake.invoke("history", job=jobs[1].id, locale="fr")
    )
    fields = {f["name"]: f["value"] for f in failed.embeds[0]["fields"]}
    # Our sentence in French, from the kind of failure; the service's words only quoted.
    assert fields["État"] == (
        f"⚠️ Échec{NBSP}: Le service vidéo n'a pas pu créer cette vidéo. Réessayez."
    )
    assert fields["Réponse du service vidéo"] == "> model error"
    assert "model error" not in fields["Résultat"]
    missing = await reply(
        discord_fake, await discord_fake.invoke("history", job=99_999, locale="fr")
    )
    assert missing.content == "Je n'ai trouvé aucune de vos vidéos avec ce numéro."

    # Someone else's buttons refuse each presser in their own language.
    refused = await click(
        discord_fake, page, "select", "fr", user=discord_fake.stranger, values=["1"]
    )
    assert discord_fake.messages[refused.original_id].content.startswith(  # type: ignore[index]
        "Ces boutons appartiennent au /history de quelqu'un d'autre."
    )
    refused = await click(
        discord_fake, page, "select", "en-GB", user=discord_fake.stranger, values=["1"]
    )
    assert "someone else's" in discord_fake.messages[refused.original_id].content  # type: ignore[index]


async def test_an_empty_filtered_history_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    page = await reply(
        discord_fake, await discord_fake.invoke("history", status="cancelled", locale="fr")
    )
    assert page.embeds[0]["description"] == (
        f"Aucune vidéo ne correspond au filtre «{NBSP}annulées{NBSP}». "
        "Utilisez /animate pour en créer une."
    )
    assert page.embeds[0]["footer"]["text"].endswith(f"0 vidéo · filtre{NBSP}: annulées")


async def test_a_french_server_does_not_change_a_private_answer(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    discord_fake.guild_locale = "fr"
    bot = await runner.start()
    guild = bot.get_guild(discord_fake.guild_id)
    assert guild is not None and guild.preferred_locale is discord.Locale.french
    ix = await discord_fake.invoke("about", locale="en-US")
    assert ix.payload["guild_locale"] == "fr"
    answer = await reply(discord_fake, ix)
    # Ephemeral answers follow the reader's own client, not the server.
    assert answer.content.startswith("I turn an image into a short video")
