"""French end to end: /admin answers and describes itself in the admin's language.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

from app.client import AnimateBot
from bot.domain import GuildSettings
from tests.cogs.french import NBSP, NNBSP, admin_answer
from tests.fakes.discord import FakeDiscord


async def test_admin_answers_and_refuses_in_the_admins_language(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    shown = await admin_answer(
        discord_fake, "limits", "fr", user=discord_fake.admin, daily_spend_usd=2.5
    )
    assert shown.split("\n") == [
        f"**État{NBSP}:** ▶️ Nouvelles vidéos acceptées",
        f"**/animate fonctionne dans{NBSP}:** tous les salons",
        f"**Langue des messages publics{NBSP}:** automatique (celle du serveur s'il est "
        "communautaire, sinon celle du membre qui lance chaque vidéo)",
        f"**Par membre{NBSP}:** 2 à la fois, 20 par 24{NBSP}heures",
        f"**Budget quotidien du serveur{NBSP}:** 2,50{NBSP}$US (compte les coûts connus "
        f"et attendus des dernières 24{NBSP}heures)",
    ]
    too_high = await admin_answer(
        discord_fake, "limits", "fr", user=discord_fake.admin, per_user_daily=500
    )
    # The option as the French picker names it.
    assert too_high == (
        f"Le propriétaire du bot autorise au plus 20 pour «{NBSP}par_membre_par_jour{NBSP}», "
        f"ce serveur ne peut donc pas choisir 500{NNBSP}; rien n'a été modifié."
    )
    paused = await admin_answer(
        discord_fake, "pause", "fr", user=discord_fake.admin, reason="travaux"
    )
    assert paused.startswith(
        "Les nouvelles vidéos sont suspendues sur ce serveur. Celles en cours se termineront."
    )
    assert f"**État{NBSP}:** ⏸️ En pause{NBSP}: travaux" in paused
    usage = await admin_answer(discord_fake, "usage", "fr", user=discord_fake.admin)
    assert usage.startswith(
        f"**Ce serveur, les 7 derniers jours{NBSP}:** 0 vidéo · publiées{NBSP}: 0"
    )
    assert f"**Dépenses{NBSP}:** 0,00{NBSP}$US" in usage

    # A member without Manage Server is refused in their language; nothing changes.
    before = await bot.jobs.store.guild_settings(discord_fake.guild_id)
    refused = await admin_answer(discord_fake, "resume", "fr", user=discord_fake.stranger)
    assert refused == (
        f"Il vous faut l'autorisation «{NBSP}Gérer le serveur{NBSP}» sur ce serveur "
        "pour utiliser /admin."
    )
    assert await bot.jobs.store.guild_settings(discord_fake.guild_id) == before
    assert before != GuildSettings(guild_id=discord_fake.guild_id)  # still paused
    english = await admin_answer(discord_fake, "resume", "en-GB", user=discord_fake.stranger)
    assert english == "You need the Manage Server permission on this server to use /admin."


async def test_admin_commands_carry_french_descriptions(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    command = discord_fake.command("admin")
    assert command["description_localizations"] == {
        "fr": "Régler /animate sur ce serveur (Gérer le serveur)"
    }
    subs = {o["name"]: o for o in command["options"]}
    assert subs["pause"]["description"] == "Stop new videos on this server (running ones finish)"
    assert subs["pause"]["description_localizations"]["fr"] == (
        "Suspendre les nouvelles vidéos sur ce serveur (celles en cours se terminent)"
    )
    for sub in subs.values():
        assert sub["description_localizations"]["fr"] != sub["description"]
        for option in sub.get("options", []):
            assert option["description_localizations"]["fr"] != option["description"]
