"""French end to end: refusals, /admin, cancels, /history-clear and the last resort.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

import ast
import asyncio
import io
import random
import sqlite3
from pathlib import Path

from PIL import Image

from app.client import AnimateBot
from bot.domain import GuildSettings, JobStatus
from tests.bot.test_i18n import click
from tests.cogs.animate.helpers import png, start_queued
from tests.cogs.animate.test_results import button, delivered, videos
from tests.cogs.test_history import reply, seed
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.models import options

NBSP, NNBSP = "\u00a0", "\u202f"


async def private_answer(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The ephemeral reply to a command refused before any defer."""
    await fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    return fake.messages[ix.original_id].content  # type: ignore[index]


async def nothing_started(bot: AnimateBot, fake: FakeDiscord, runcomfy: FakeRunComfy) -> None:
    assert runcomfy.submits == []
    assert await bot.jobs.store.count_for_user(fake.author.id) == 0


# -- /animate refusals -----------------------------------------------------------


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


# -- /admin ----------------------------------------------------------------------


async def admin_answer(fake: FakeDiscord, sub: str, locale: str, **options: object) -> str:
    ix = await fake.invoke(f"admin {sub}", locale=locale, **options)
    message = await reply(fake, ix)
    assert message.ephemeral
    return message.content


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


# -- cancelling --------------------------------------------------------------------


async def test_cancel_replies_in_the_language_of_who_pressed(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (custom_id,) = status.custom_ids

    async def pressed(user: object, locale: str) -> str:
        ix = await discord_fake.click(status, custom_id, user=user, locale=locale)  # type: ignore[arg-type]
        await discord_fake.wait_for(lambda: ix.followup_ids)
        answer = discord_fake.messages[ix.followup_ids[0]]
        assert answer.ephemeral
        return answer.content

    assert await pressed(discord_fake.stranger, "fr") == (
        "Seule la personne qui a lancé cette vidéo (ou un modérateur) peut l'annuler."
    )
    assert await pressed(discord_fake.author, "fr") == (
        f"Annulée. Elle était encore en file d'attente{NBSP}: elle n'a rien coûté."
    )
    assert len(runcomfy_fake.submits) == 1


async def job_status(bot: AnimateBot, fake: FakeDiscord) -> JobStatus:
    (job,) = await bot.jobs.store.list_for_user(fake.author.id)
    return job.status


async def test_a_reaction_in_a_french_server_is_answered_in_french(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # A reaction carries no locale: the reply, public in the channel, speaks the job's
    # (here a Community server's French, the member's client being English).
    discord_fake.community, discord_fake.guild_locale = True, "fr"
    bot = await runner.start()
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="un chat bâille")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = discord_fake.messages[ix.original_id]
    await discord_fake.wait_for(lambda: discord_fake.bot.id in status.reactions.get("❌", ()))
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "in_progress")
    for _ in range(100):  # bounded: the poller sees the render start within a few polls
        if await job_status(bot, discord_fake) is JobStatus.IN_PROGRESS:
            break
        await asyncio.sleep(0.05)
    await discord_fake.react(status, user=discord_fake.moderator)
    (refusal,) = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "déjà en cours" in m.content]
    )
    assert refusal.content == (
        f"<@{discord_fake.moderator.id}> Cette vidéo est déjà en cours de génération et ne "
        f"peut plus être annulée{NNBSP}; elle sera publiée une fois terminée, et son coût "
        "compte en entier."
    )
    assert refusal.pinged_users == {discord_fake.moderator.id}
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "completed")
    await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.channel_messages()
            if m.attachments and m.attachments[0].filename.endswith(".mp4")
        ],
        within=10,
    )


# -- the language of public messages ---------------------------------------------------


async def public_job(
    fake: FakeDiscord, runcomfy: FakeRunComfy, locale: str
) -> tuple[FakeMessage, FakeMessage]:
    """One job run to its video, started by a member whose client speaks `locale`."""
    runcomfy.script(Timeline(manual=True))
    ix = await fake.invoke("animate", image=png(), prompt="un chat bâille", locale=locale)
    await fake.wait_for(lambda: ix.original_id)
    status = fake.messages[ix.original_id]  # type: ignore[index]
    await fake.wait_for(lambda: fake.bot.id in status.reactions.get("❌", ()))
    await fake.wait_for(lambda: "🕒" in status.embeds[0]["title"])
    before = len(videos(fake))
    runcomfy.set_state(list(runcomfy.jobs)[-1], "completed")
    video = (await fake.wait_for(lambda: videos(fake)[before:], within=10))[0]
    await fake.wait_for(lambda: status.embeds[0]["title"].startswith("✅"))
    return status, video


def says(status: FakeMessage, video: FakeMessage) -> list[str]:
    """What the channel read of a job: the status queued, the video, its first button."""
    queued = next(e.embeds[0] for e in status.edits if e.embeds and "🕒" in e.embeds[0]["title"])
    labels = [c["label"] for row in video.components for c in row["components"]]
    return [
        queued["title"],
        queued["footer"]["text"].split(" ", 1)[0],
        video.content.split("\n", 1)[0].split("> ", 1)[-1],
        labels[0],
    ]


FRENCH = ["🕒 En file d'attente", "Réagissez", f"votre vidéo est prête{NNBSP}!", "Refaire"]
ENGLISH = ["🕒 Queued", "React", "your video is ready!", "Again"]


async def test_a_french_member_on_a_small_server_gets_french_public_messages(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Not a Community server: Discord says "en-US" for it whatever its members speak.
    assert discord_fake.guild_locale == "en-US" and not discord_fake.community
    status, video = await public_job(discord_fake, runcomfy_fake, "fr")
    assert says(status, video) == FRENCH
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.locale == "fr"  # stored: a restart keeps speaking French


async def test_a_community_servers_language_wins_over_the_members(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.community = True  # a Community server that chose English
    await runner.start()
    status, video = await public_job(discord_fake, runcomfy_fake, "fr")
    assert says(status, video) == ENGLISH


async def test_admin_language_overrides_the_server_and_the_member(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.community, discord_fake.guild_locale = True, "fr"
    await runner.start()
    shown = await admin_answer(
        discord_fake, "language", "fr", user=discord_fake.admin, language="en"
    )
    assert f"**Langue des messages publics{NBSP}:** English" in shown
    status, video = await public_job(discord_fake, runcomfy_fake, "fr")
    assert says(status, video) == ENGLISH

    await admin_answer(discord_fake, "language", "en-US", user=discord_fake.admin, language="auto")
    status, video = await public_job(discord_fake, runcomfy_fake, "en-US")
    assert says(status, video) == FRENCH  # automatic again: this Community server's French


async def test_a_cross_in_a_dm_is_answered_in_the_jobs_language(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="x", dm=True, locale="fr")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = discord_fake.messages[ix.original_id]  # type: ignore[index]
    await discord_fake.wait_for(lambda: discord_fake.bot.id in status.reactions.get("❌", ()))
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "in_progress")
    for _ in range(100):  # bounded: the poller sees the render start within a few polls
        if await job_status(bot, discord_fake) is JobStatus.IN_PROGRESS:
            break
        await asyncio.sleep(0.05)
    await discord_fake.react(status)  # a reaction in a DM: no locale, no server
    (answer,) = await discord_fake.wait_for(
        lambda: [
            m
            for m in discord_fake.messages.values()
            if m.channel_id == status.channel_id and "<@" in m.content
        ]
    )
    assert "Cette vidéo est déjà en cours de génération" in answer.content
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "completed")
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.messages.values() if m.attachments and m.content],
        within=10,
    )


# -- /history-clear and the last resort ----------------------------------------------


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


# -- no sentences in code ------------------------------------------------------------

COGS = Path(__file__).parents[2] / "cogs"
# Every cog is converted; a file listed here would be skipped by the scan.
NOT_YET_CONVERTED: frozenset[str] = frozenset()
# Calls that put text in front of users (directly or through the cogs' own helpers).
SENDING = frozenset(
    {
        "send_message",
        "send",
        "edit_original_response",
        "edit_message",
        "edit",
        "_reply",
        "fail",  # places.fail: the placeholder swapped for an error
        "_answer_reaction",
    }
)


def looks_like_a_sentence(node: ast.AST) -> bool:
    """A literal (or f-string) with two words or more: prose, not a key or an id."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    else:
        return False
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    return len(words) >= 2


def sentences_in(source: str) -> list[str]:
    """User-facing prose in code: sent inline, or kept as a module-level constant."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SENDING:
                arguments = [*node.args, *(k.value for k in node.keywords if k.arg == "content")]
                found += [ast.unparse(a) for a in arguments if looks_like_a_sentence(a)]
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            values = [statement.value]
            if isinstance(statement.value, ast.Dict):
                values = [v for v in statement.value.values if v is not None]
            found += [ast.unparse(v) for v in values if looks_like_a_sentence(v)]
    return found


def test_the_scan_finds_sentences_sent_inline_or_kept_as_constants() -> None:
    assert sentences_in('await i.response.send_message("Not allowed here.")')
    assert sentences_in('await i.followup.send(f"Deleted {n} jobs.", ephemeral=True)')
    assert sentences_in('async def f(i):\n    await _reply(i, "That is not a server id")')
    assert sentences_in('NOTHING = "Nothing was deleted."')
    assert sentences_in('REPLIES = {1: "Cancelled. Nothing was charged."}')
    assert not sentences_in('NOT_FOUND = "history.not_found"\nawait x.send(t(NOT_FOUND))')
    assert not sentences_in('await m.edit(content=f"<@{user}> {text}")')


def test_cogs_keep_their_sentences_in_the_catalogs() -> None:
    offenders = {}
    for path in sorted(COGS.rglob("*.py")):
        name = path.relative_to(COGS).as_posix()
        if name in NOT_YET_CONVERTED:
            continue
        found = sentences_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert offenders == {}
