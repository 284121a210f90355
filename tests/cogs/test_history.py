"""/history end to end through the fake Discord: private, ordered, paged, useful."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import pytest

from app.client import SORRY, AnimateBot
from bot import i18n
from bot.domain import ImageFacts, Job, JobStatus
from cogs.history import views as history_views
from tests.cogs.animate.helpers import (
    start_queued,
    status_message,
    until_queued_and_cancellable,
)
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage, FakeUser
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.models import job_fields

IMAGE = ImageFacts(filename="cat.png", format="PNG", width=800, height=600, size_bytes=120_000)
STATES = [
    JobStatus.DELIVERED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
    JobStatus.IN_QUEUE,
    JobStatus.TIMED_OUT,
    JobStatus.DELIVERED,
    JobStatus.LOST,
]


async def seed(
    bot: AnimateBot,
    user: FakeUser,
    count: int,
    *,
    prompt: str = "job",
    start: float = 1_700_000_000.0,
) -> list[Job]:
    jobs = []
    for i in range(count):
        status = STATES[i % len(STATES)]
        job = Job(
            user_id=user.id,
            guild_id=1,
            channel_id=2,
            prompt=f"{prompt} {i}",
            status=status,
            image=IMAGE,
            created_at=start + i * 60,
            **job_fields(resolution="720p", duration=6, ratio="9:16"),
            submitted_at=start + i * 60 + 1,
            started_at=start + i * 60 + 11,
            finished_at=start + i * 60 + 71 if status.is_final else None,
            request_id=f"req-{user.id}-{start}-{i}",
            cost=0.12 if status is JobStatus.DELIVERED else None,
            error="model error" if status is JobStatus.FAILED else None,
            delivered_channel_id=2 if status is JobStatus.DELIVERED else None,
            delivered_message_id=1000 + i if status is JobStatus.DELIVERED else None,
        )
        jobs.append(await bot.jobs.store.create(job))
    return jobs


async def reply(fake: FakeDiscord, ix: FakeInteraction) -> FakeMessage:
    await fake.wait_for(lambda: ix.response_type is not None)
    return fake.messages[ix.original_id]  # type: ignore[index]


def custom_id(message: FakeMessage, label: str) -> str:
    for row in message.components:
        for item in row["components"]:
            if item.get("label") == label or (label == "select" and item["type"] == 3):
                return item["custom_id"]
    raise KeyError(label)


def component(message: FakeMessage, label: str) -> dict[str, Any]:
    for row in message.components:
        for item in row["components"]:
            if item.get("label", "").startswith(label):
                return item
    raise KeyError(label)


async def press(
    fake: FakeDiscord,
    message: FakeMessage,
    label: str,
    user: FakeUser | None = None,
    values: list[str] | None = None,
) -> FakeInteraction:
    ix = await fake.click(message, custom_id(message, label), user=user, values=values)
    await fake.wait_for(lambda: ix.response_type is not None)
    return ix


def job_numbers(message: FakeMessage) -> list[int]:
    text = message.embeds[0]["description"]
    return [int(part.split("**")[0]) for part in text.split("**#")[1:]]


async def test_each_user_sees_only_their_jobs_newest_first_and_pages(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    mine = await seed(bot, discord_fake.author, 23)
    theirs = await seed(bot, discord_fake.stranger, 3, prompt="secret plan")

    ix = await discord_fake.invoke("history")
    page = await reply(discord_fake, ix)
    assert page.ephemeral
    assert job_numbers(page) == [j.id for j in reversed(mine)][:10]
    assert "secret plan" not in json.dumps(page.embeds)
    assert page.embeds[0]["footer"]["text"].startswith("Page 1 of 3 · 23 videos")
    assert component(page, "Newest")["disabled"] and component(page, "Newer")["disabled"]
    assert not component(page, "Older").get("disabled")
    assert "https://discord.com/channels/1/2/" in page.embeds[0]["description"]

    await press(discord_fake, page, "Older")
    assert job_numbers(page) == [j.id for j in reversed(mine)][10:20]
    await press(discord_fake, page, "Oldest")
    assert job_numbers(page) == [j.id for j in reversed(mine)][20:]
    assert component(page, "Older")["disabled"] and component(page, "Oldest")["disabled"]
    assert component(page, "Page 3 of 3")["disabled"]
    await press(discord_fake, page, "Newest")
    assert job_numbers(page)[0] == mine[-1].id

    # A stranger pressing the author's buttons is refused and changes nothing.
    before = json.dumps(page.embeds)
    refused = await press(discord_fake, page, "Older", user=discord_fake.stranger)
    answer = discord_fake.messages[refused.original_id]  # type: ignore[index]
    assert answer.ephemeral and "someone else's" in answer.content
    assert json.dumps(page.embeds) == before

    other = await reply(
        discord_fake, await discord_fake.invoke("history", user=discord_fake.stranger)
    )
    assert job_numbers(other) == [j.id for j in reversed(theirs)]


async def test_status_filter(bot: AnimateBot, discord_fake: FakeDiscord) -> None:
    jobs = await seed(bot, discord_fake.author, 14)
    for status, wanted in [
        ("delivered", {JobStatus.DELIVERED}),
        ("failed", {JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.LOST}),
        ("cancelled", {JobStatus.CANCELLED}),
        ("in progress", {JobStatus.IN_QUEUE}),
    ]:
        page = await reply(discord_fake, await discord_fake.invoke("history", status=status))
        expected = [j.id for j in reversed(jobs) if j.status in wanted]
        assert job_numbers(page) == expected, status


async def test_detail_view_from_the_menu_and_by_number(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    jobs = await seed(bot, discord_fake.author, 3)
    theirs = await seed(bot, discord_fake.stranger, 1)
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    await press(discord_fake, page, "select", values=[str(jobs[0].id)])
    detail = page.embeds[0]
    assert detail["title"] == f"Video #{jobs[0].id}"
    fields = {f["name"]: f["value"] for f in detail["fields"]}
    assert fields["Options"] == "Seedance v1.5 pro · 720p · 9:16 · 6 s · audio on · camera fixed"
    assert "800×600 px PNG" in fields["Image"] and "cat.png" in fields["Image"]
    assert fields["Queued"] == "10s" and fields["Rendering"] == "1m 00s"
    assert fields["Reference"] == f"`{jobs[0].request_id}`"
    assert fields["Cost"] == "$0.12"
    assert detail["description"] == "job 0"
    await press(discord_fake, page, "Back to the list")
    assert job_numbers(page) == [j.id for j in reversed(jobs)]

    failed = await reply(discord_fake, await discord_fake.invoke("history", job=jobs[1].id))
    assert "model error" in json.dumps(failed.embeds)
    # Someone else's job is exactly as absent as a missing one.
    for number in (theirs[0].id, 99_999):
        absent = await reply(discord_fake, await discord_fake.invoke("history", job=number))
        assert absent.ephemeral and "no video of yours" in absent.content


async def test_animate_again_submits_once_with_the_same_options(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(
        discord_fake, runcomfy_fake, resolution="1080p", ratio="4:3", duration=10, audio=False
    )
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    await bot.jobs.cancel(job.id, actor_id=discord_fake.author.id, actor_is_moderator=False)  # type: ignore[arg-type]
    runcomfy_fake.script(Timeline(manual=True))
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    again = await press(discord_fake, detail, "Animate again")
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    first, second = runcomfy_fake.submits
    assert {k: v for k, v in first.items() if k != "first_frame_image_url"} == {
        k: v for k, v in second.items() if k != "first_frame_image_url"
    }
    # The image came back from the first status message, re-hosted on the new one.
    assert second["first_frame_image_url"] == status.attachments[0].url
    new_status = status_message(discord_fake, again)
    await until_queued_and_cancellable(discord_fake, new_status)
    assert not new_status.ephemeral


async def test_animate_again_says_when_the_image_is_gone(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    (job,) = await seed(bot, discord_fake.author, 1)  # no hosted image
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    again = await press(discord_fake, detail, "Animate again")
    await discord_fake.wait_for(lambda: again.followup_ids)
    told = discord_fake.messages[again.followup_ids[0]]
    assert told.ephemeral and "no longer available" in told.content
    assert runcomfy_fake.submits == []


async def test_clear_asks_first_and_removes_only_the_callers_finished_rows(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    mine = await seed(bot, discord_fake.author, 5)  # 4 finished, 1 queued
    await seed(bot, discord_fake.stranger, 2)
    store = bot.jobs.store
    ask = await reply(discord_fake, await discord_fake.invoke("history-clear"))
    assert ask.ephemeral and "4 finished videos" in ask.content
    assert "in progress stay" in ask.content
    assert await store.count_for_user(discord_fake.author.id) == 5  # asked, not done
    await press(discord_fake, ask, "Delete my finished videos", user=discord_fake.stranger)
    assert await store.count_for_user(discord_fake.author.id) == 5
    await press(discord_fake, ask, "Delete my finished videos")
    assert "Deleted 4 finished videos" in ask.content and ask.components == []
    (left,) = await store.list_for_user(discord_fake.author.id)
    assert left.id == mine[3].id and left.status is JobStatus.IN_QUEUE
    assert await store.count_for_user(discord_fake.stranger.id) == 2
    # A cleared job is as absent as a missing one, even by its number.
    gone = await reply(discord_fake, await discord_fake.invoke("history", job=mine[0].id))
    assert "no video of yours" in gone.content
    again = await reply(discord_fake, await discord_fake.invoke("history-clear"))
    assert "no finished videos" in again.content and again.components == []

    keep = await reply(
        discord_fake, await discord_fake.invoke("history-clear", user=discord_fake.stranger)
    )
    await press(discord_fake, keep, "Keep them", user=discord_fake.stranger)
    assert await store.count_for_user(discord_fake.stranger.id) == 2


async def test_retention_purges_old_finished_rows_at_start(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    bot = await runner.start()
    now = time.time()
    old = await seed(bot, discord_fake.author, 7, start=now - 40 * 86_400)
    recent = await seed(bot, discord_fake.author, 3, start=now - 3600)
    await runner.stop()
    bot = await runner.start(history_retention_days=30)
    left = []
    for _ in range(100):
        left = await bot.jobs.store.list_for_user(discord_fake.author.id, limit=50)
        if len(left) < 10:
            break
        await discord_fake.wait_for(lambda: True)
    kept_old = [j for j in old if not j.status.is_final]  # active jobs are never purged
    assert {j.id for j in left} == {j.id for j in recent} | {j.id for j in kept_old}


async def test_long_markdown_prompts_render_within_discords_limits(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    nasty = ("**bold** <@&1> @everyone `x` " * 80)[:2000]
    await seed(bot, discord_fake.author, 12, prompt=nasty)
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    assert len(page.embeds[0]["description"]) <= 4096
    assert "@everyone" not in page.embeds[0]["description"].replace("@\u200beveryone", "")
    await press(
        discord_fake,
        page,
        "select",
        values=[page.components[1]["components"][0]["options"][0]["value"]],
    )
    assert page.embeds[0]["title"].startswith("Video #")
    assert discord_fake.pinged() == {}
    assert not [r for r in discord_fake.requests if r.status == 400]


async def test_history_works_in_dms(bot: AnimateBot, discord_fake: FakeDiscord) -> None:
    await seed(bot, discord_fake.author, 2)
    page = await reply(discord_fake, await discord_fake.invoke("history", dm=True))
    assert page.ephemeral and len(job_numbers(page)) == 2


async def test_buttons_are_disabled_when_the_view_times_out(
    bot: AnimateBot, discord_fake: FakeDiscord, monkeypatch: Any
) -> None:
    monkeypatch.setattr(history_views, "VIEW_TIMEOUT", 0.2)
    await seed(bot, discord_fake.author, 12)
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    assert not component(page, "Older").get("disabled")
    await discord_fake.wait_for(lambda: component(page, "Older").get("disabled"), within=5)
    assert all(item.get("disabled") for row in page.components for item in row["components"])


async def test_an_unexpected_error_is_logged_with_who_and_where_and_the_user_told(
    bot: AnimateBot, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    # The operator's database lost its table: a real fault no cog can turn into advice.
    with sqlite3.connect(bot.settings.database_path) as db:
        db.execute("DROP TABLE jobs")
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    assert page.ephemeral
    assert page.content == i18n.english()(SORRY)
    failures = [r for r in caplog.records if r.getMessage().startswith("Command /history failed")]
    assert len(failures) == 1
    assert str(discord_fake.author.id) in failures[0].getMessage()
    assert failures[0].exc_info is not None


async def test_an_empty_history_is_a_friendly_line_without_dead_widgets(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    assert page.ephemeral and page.components == []
    assert page.embeds[0]["description"] == "No videos yet. Use /animate to make one."


async def test_rows_say_their_state_in_words_and_the_pager_speaks_words(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    await seed(bot, discord_fake.author, 12)
    page = await reply(discord_fake, await discord_fake.invoke("history"))
    first_row = page.embeds[0]["description"].split("\n")[0]
    assert " · Timed out · " in first_row  # the seeded 12th job; words beside the icon
    labels = [item.get("label") for row in page.components for item in row["components"]]
    assert labels[:5] == ["Newest", "Newer", "Page 1 of 2", "Older", "Oldest"]
    french = await reply(discord_fake, await discord_fake.invoke("history", locale="fr"))
    labels = [item.get("label") for row in french.components for item in row["components"]]
    assert labels[:2] == ["Les plus récentes", "Plus récentes"]
