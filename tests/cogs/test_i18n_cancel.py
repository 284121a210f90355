"""French end to end: cancels answered in the language of who pressed or reacted.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

import asyncio

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import png, start_queued
from tests.cogs.french import NBSP, NNBSP, job_status
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


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
