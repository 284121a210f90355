"""/history job:<id> of a job whose every shown part is as long as it may be: a 2,000-character
prompt of Markdown signs (escaped, twice as long), a long file name, RunComfy's long error
and signed video URL. Discord refuses embeds over 6,000 characters in all: the details
must fit, the prompt shortened first, not "something went wrong"."""

from __future__ import annotations

import pytest

from app.client import AnimateBot
from bot.domain import Job, JobStatus
from tests.cogs.test_history import IMAGE, reply
from tests.fakes.discord import FakeDiscord
from tests.models import job_fields

EMBED_TOTAL = 6000
START = 1_700_000_000.0


def embed_total(embed: dict) -> int:  # type: ignore[type-arg]
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.DELIVERED, JobStatus.TIMED_OUT])
async def test_the_longest_details_fit_in_one_embed(
    bot: AnimateBot, discord_fake: FakeDiscord, status: JobStatus
) -> None:
    job = await bot.jobs.store.create(
        Job(
            user_id=discord_fake.author.id,
            guild_id=1,
            channel_id=2,
            prompt="*_" * 1000,
            status=status,
            image=IMAGE.model_copy(update={"filename": "_" * 251 + ".png"}),
            created_at=START,
            **job_fields(),
            submitted_at=START + 1,
            started_at=START + 2,
            finished_at=START + 70,
            request_id="req-1",
            cost=0.12,
            error="refused: " + "e" * 2000,
            video_url="https://cdn.runcomfy.example/v.mp4?signature=" + "s" * 600,
            video_bytes=4096,
            delivered_channel_id=2 if status is JobStatus.DELIVERED else None,
            delivered_message_id=5 if status is JobStatus.DELIVERED else None,
        )
    )
    shown = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    assert "went wrong" not in shown.content
    (embed,) = shown.embeds
    assert embed_total(embed) <= EMBED_TOTAL
    assert embed["description"].startswith("\\*\\_\\*\\_")  # as much of it as fits


async def test_a_download_link_too_long_to_show_is_never_cut_into_a_dead_one(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    # RunComfy's signed URL can outgrow a field (1,024) or ten rows of a page (4,096):
    # cut, the link would lead nowhere. The detail says so; the page points to it.
    url = "https://cdn.runcomfy.example/v.mp4?signature=" + "s" * 1500
    for _ in range(10):
        job = await bot.jobs.store.create(
            Job(
                user_id=discord_fake.author.id,
                guild_id=1,
                channel_id=2,
                prompt="p",
                status=JobStatus.DELIVERED,
                image=IMAGE,
                created_at=START,
                **job_fields(),
                finished_at=START + 70,
                video_url=url,
                video_bytes=4096,
            )
        )
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    (embed,) = page.embeds
    assert "signature=" not in embed["description"]
    assert f"details of video #{job.id}" in embed["description"]
    assert embed_total(embed) <= EMBED_TOTAL
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    (embed,) = detail.embeds
    texts = [f["value"] for f in embed["fields"]]
    assert not any("signature=" in text for text in texts), texts
    assert any("too long to show" in text for text in texts), texts
