"""The language of public messages: the member's, the server's, or the admin's choice.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

import asyncio

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_results import videos
from tests.cogs.french import NBSP, NNBSP, admin_answer, job_status
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


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
