"""The status message tells the truth: state, ETA, controls, fitting, failures, language."""

from __future__ import annotations

import json
import re
import time

from app.client import AnimateBot
from bot.domain import ImageFacts, Job, JobStatus
from bot.eta import Estimate
from cogs.animate.rendering import status_embed
from tests.cogs.animate.helpers import (
    embed_field,
    png,
    request_id_of,
    start_queued,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.models import job_fields

NBSP = "\u00a0"
FACTS = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)


def expected_unix(message: FakeMessage) -> int | None:
    found = re.search(r"<t:(\d+):R>", embed_field(message, "Expected"))
    return int(found.group(1)) if found else None


def others(fake: FakeDiscord, status: FakeMessage) -> list[FakeMessage]:
    return [m for m in fake.channel_messages() if m.id != status.id]


# -- pure rendering ------------------------------------------------------------


def test_title_and_colour_follow_the_state() -> None:
    seen = set()
    for status in JobStatus:
        job = Job(
            id=3, user_id=1, prompt="p", image=FACTS, created_at=0, status=status, **job_fields()
        )
        embed = status_embed(job, Estimate())
        seen.add((embed.title, embed.colour))
        assert embed.title and "Animating" not in embed.title
    assert len(seen) == len(JobStatus)  # every state looks different


def test_a_live_job_past_its_estimate_says_so_instead_of_a_past_time() -> None:
    job = Job(
        id=3,
        user_id=1,
        prompt="p",
        image=FACTS,
        created_at=0,
        status=JobStatus.IN_PROGRESS,
        **job_fields(),
    )
    embed = status_embed(job, Estimate(overdue=True, progress=0.95))
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Expected"] == "Taking longer than usual"
    assert fields["Progress"] == "▰▰▰▰▰▰▰▰▰▱ 95%"  # rounded to cells, never full while live
    assert "can no longer be cancelled" in (embed.footer.text or "")


def test_a_fitted_image_is_said_with_its_sizes() -> None:
    fitted = FACTS.model_copy(
        update={"fitted": True, "original_width": 6000, "original_height": 4500}
    )
    job = Job(id=3, user_id=1, prompt="p", image=fitted, created_at=0, locale="fr", **job_fields())
    fields = {f.name: f.value for f in status_embed(job, Estimate()).fields}
    assert fields["Image"] == (
        f"J'ai redimensionné votre image de 6000{NBSP}×{NBSP}4500 à 800{NBSP}×{NBSP}600 "
        "pour le service vidéo."
    )


# -- end to end ----------------------------------------------------------------


async def test_the_eta_moves_with_the_queue_and_is_never_in_the_past(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(default_eta_seconds=60.0)
    runcomfy_fake.script(Timeline(manual=True, queue_positions=(5,)))
    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "position 5")
    first = expected_unix(status)
    # Four places ahead, one render each (nothing moved yet), then its own render.
    assert first is not None and first >= time.time() + 4 * 60
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_queue", queue_position=2)
    await wait_state(discord_fake, status, "position 2")
    moved = expected_unix(status)
    # The queue moved three places in well under a minute: the estimate came much closer.
    assert moved is not None and time.time() < moved < first - 3 * 60
    runcomfy_fake.set_state(rid, "completed")
    await wait_state(discord_fake, status, "Done")


async def test_past_the_estimate_the_status_says_taking_longer(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The fakes' default ETA is 0.5 s; the render stays running (manual).
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    await discord_fake.wait_for(
        lambda: embed_field(status, "Expected") == "Taking longer than usual", within=10
    )
    bars = [
        f["value"]
        for edit in status.edits
        for f in (edit.embeds[0]["fields"] if edit.embeds else [])
        if f["name"] == "Progress"
    ]
    filled = [bar.count("▰") for bar in bars]
    assert filled == sorted(filled), "the progress bar moved backwards"
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")


async def test_cancel_goes_at_render_start_and_the_bots_reaction_at_the_end(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    assert any(c.startswith("animate:cancel:") for c in status.custom_ids)
    assert "press Cancel" in status.embeds[0]["footer"]["text"]
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    assert status.components == []
    assert status.embeds[0]["footer"]["text"] == (
        "Rendering has started: it can no longer be cancelled."
    )
    await discord_fake.wait_for(lambda: discord_fake.bot.id not in status.reactions["❌"])
    runcomfy_fake.set_state(rid, "completed")
    await wait_state(discord_fake, status, "Done")
    assert status.embeds[0]["title"] == "✅ Done"
    assert discord_fake.bot.id not in status.reactions["❌"]


async def test_a_cancel_by_its_author_is_one_edit_and_one_private_answer(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (custom_id,) = status.custom_ids
    before = len(status.edits)
    click = await discord_fake.click(status, custom_id, user=discord_fake.author)
    await discord_fake.wait_for(lambda: click.followup_ids)
    await wait_state(discord_fake, status, "Cancelled")
    answer = discord_fake.messages[click.followup_ids[0]]
    assert answer.ephemeral and "Cancelled" in answer.content
    assert status.embeds[0]["title"] == "🛑 Cancelled"
    # One edit tells it (a refresh of the estimate may precede it under load).
    cancelled = [e for e in status.edits[before:] if "Cancelled" in json.dumps(e.embeds)]
    assert len(cancelled) == 1
    assert others(discord_fake, status) == [] and discord_fake.pinged() == {}


async def test_a_cancel_by_a_moderator_tells_the_author(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    (custom_id,) = status.custom_ids
    await discord_fake.click(status, custom_id, user=discord_fake.moderator)
    told = await discord_fake.wait_for(lambda: others(discord_fake, status))
    assert "was cancelled" in told[0].content
    assert told[0].pinged_users == {discord_fake.author.id}


async def test_a_fitted_image_is_said_on_the_status_message(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(6200, 3100), prompt="wide")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Queued")
    note = embed_field(status, "Image")
    assert note.startswith("Your image was resized from 6200×3100 to ")
    await discord_fake.wait_for(lambda: discord_fake.bot.id in status.reactions.get("❌", ()))
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")


async def test_a_french_server_sees_the_status_and_the_video_in_french_after_a_restart(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.guild_locale = "fr"
    await runner.start()
    runcomfy_fake.script(Timeline(manual=True, queue_positions=(2,)))
    ix = await discord_fake.invoke("animate", image=png(), prompt="un chat baille", locale="fr")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await discord_fake.wait_for(lambda: status.embeds and "position 2" in state_of_fr(status))
    assert status.embeds[0]["title"] == "🕒 En file d'attente"
    assert "Réagissez avec ❌" in status.embeds[0]["footer"]["text"]
    await discord_fake.wait_for(lambda: discord_fake.bot.id in status.reactions.get("❌", ()))
    await runner.restart()
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    video = await discord_fake.wait_for(
        lambda: [m for m in others(discord_fake, status) if m.attachments]
    )
    assert video[0].content.startswith(f"<@{discord_fake.author.id}> votre vidéo est prête")
    assert "> un chat baille" in video[0].content and f"coût 0,12{NBSP}$US" in video[0].content
    await discord_fake.wait_for(lambda: status.embeds[0]["title"] == "✅ Publiée")
    assert status.embeds[0]["footer"]["text"].startswith(f"Vidéo n°{NBSP}")


def state_of_fr(message: FakeMessage) -> str:
    return embed_field(message, "État")


INTERNAL_WORDS = ("submit", "runcomfy", "billed", "request id", "soumi")


def test_no_catalog_text_uses_the_operators_words() -> None:
    from bot import i18n

    for locale in i18n.available_locales():
        for message in i18n.read_catalog(locale):
            if not message.id:
                continue
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            for text in forms:
                lowered = str(text).lower()
                assert not [w for w in INTERNAL_WORDS if w in lowered], (locale, message.id)
