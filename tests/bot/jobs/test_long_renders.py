"""A render in progress is never thrown away (issue 27, item 2).

The queue and the render are timed apart: a queued job can still be dropped at
RunComfy unbilled, so it has a limit of its own (QUEUE_TIMEOUT_SECONDS, or the old
JOB_TIMEOUT_SECONDS); a rendering one is billed anyway, so the bot waits for it up to
a much longer hard cap (RENDER_HARD_CAP_SECONDS), and records its cost however it ends.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from app.client import AnimateBot
from bot.config import Settings
from bot.domain import JobStatus
from tests.bot.jobs.harness import Harness
from tests.bot.jobs.harness import harness_factory as _harness_factory
from tests.cogs.animate.helpers import (
    embed_field,
    request_id_of,
    start_queued,
    state_of,
    wait_state,
)
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared


def cost_asks(fake: FakeRunComfy) -> list[float]:
    """When /result was asked for the cost (monotonic seconds)."""
    return [
        r.at
        for r in fake.requests
        if r.endpoint == "result" and r.query.get("include_cost") == "true"
    ]


async def test_a_long_queue_then_a_normal_render_is_delivered_not_timed_out(
    harness_factory,
) -> None:
    # JOB_TIMEOUT_SECONDS counted from submit: 0.7 s queued and 0.8 s rendering passed
    # its 1 s, so the job ended "timed out" while RunComfy billed it and the video was
    # never fetched. It now limits the queue alone.
    h: Harness = await harness_factory(job_timeout_seconds=1.0)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    await asyncio.sleep(0.7)
    h.fake.set_state(job.request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    await asyncio.sleep(0.8)  # past 1 s since submit, well within the render's cap
    h.fake.set_state(job.request_id, "completed")

    done = await h.wait_status(job.id, JobStatus.DELIVERED)
    assert len(h.observer.delivered) == 1 and h.observer.ended == []
    assert done.cost == pytest.approx(0.12)
    assert h.fake.count("cancel") == 0


async def test_a_render_runcomfy_then_calls_queued_is_not_dropped_as_a_queue(
    harness_factory,
) -> None:
    # Seen rendering (billed), then "in_queue" again (a requeue, a stale replica): the
    # job went back to the queue's rules, was cancelled at the queue's limit and ended
    # "timed out", the video never fetched.
    h: Harness = await harness_factory(queue_timeout_seconds=1.0)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    h.fake.set_state(job.request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    h.fake.set_state(job.request_id, "in_queue", queue_position=7)
    await asyncio.sleep(1.5)  # past the queue's limit since submit
    still = await h.service.get(job.id)
    assert still is not None and still.status is JobStatus.IN_PROGRESS
    assert h.fake.count("cancel") == 0
    h.fake.set_state(job.request_id, "completed")
    await h.wait_status(job.id, JobStatus.DELIVERED)
    assert len(h.observer.delivered) == 1 and h.observer.ended == []


async def test_a_queue_past_its_limit_is_still_dropped_unbilled(harness_factory) -> None:
    h: Harness = await harness_factory(queue_timeout_seconds=0.3)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None
    ended = await h.wait_status(job.id, JobStatus.TIMED_OUT)
    assert h.fake.count("cancel") == 1
    assert ended.error and "queue" in ended.error and "not charged" in ended.error
    assert [j.status for j in h.observer.ended] == [JobStatus.TIMED_OUT]


async def test_a_render_past_the_hard_cap_ends_timed_out_with_its_cost(harness_factory) -> None:
    h: Harness = await harness_factory(render_hard_cap_seconds=0.6)
    h.fake.script(Timeline(manual=True, cost_while_running=True, cost=0.31))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    h.fake.set_state(job.request_id, "in_progress")
    rendering = await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    assert rendering.started_at is not None

    ended = await h.wait_status(job.id, JobStatus.TIMED_OUT)
    assert ended.finished_at is not None
    assert ended.finished_at - rendering.started_at == pytest.approx(0.6, abs=0.3)
    # Billed anyway: it says so, records what it cost, and cancels nothing.
    assert ended.error and "may have been charged" in ended.error
    assert ended.cost == pytest.approx(0.31)
    assert h.fake.count("cancel") == 0
    assert cost_asks(h.fake)  # asked for the cost at the end
    assert [j.status for j in h.observer.ended] == [JobStatus.TIMED_OUT]
    assert h.observer.delivered == []


async def test_a_render_long_past_its_expected_time_is_polled_sparsely(harness_factory) -> None:
    # POLL_MAX_SECONDS 0.1, an expected render of 0.3 s: 3 s of overrun is about 30 polls
    # at the longest interval, not the 150 of the shortest.
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    h.fake.set_state(job.request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    before = h.fake.count("result") + h.fake.count("status")
    await asyncio.sleep(3.0)
    polls = h.fake.count("result") + h.fake.count("status") - before
    assert 15 <= polls <= 60, polls
    still = await h.service.get(job.id)
    assert still is not None and still.status is JobStatus.IN_PROGRESS


def test_job_timeout_seconds_is_the_queue_limit_of_old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "d")
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "r")
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.queue_timeout == 30 * 60
    assert defaults.render_hard_cap_seconds >= 2 * 60 * 60
    monkeypatch.setenv("JOB_TIMEOUT_SECONDS", "600")
    old = Settings(_env_file=None)  # type: ignore[call-arg]
    assert old.queue_timeout == 600
    assert old.render_hard_cap_seconds == defaults.render_hard_cap_seconds
    assert old.model_copy(update={"job_timeout_seconds": 60}).queue_timeout == 60
    monkeypatch.setenv("QUEUE_TIMEOUT_SECONDS", "900")  # the new name wins
    assert Settings(_env_file=None).queue_timeout == 900  # type: ignore[call-arg]


# -- what the author reads: the status message and /history --------------------------


async def test_a_render_past_its_expected_time_still_renders_and_is_delivered(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot: AnimateBot = await runner.start(job_timeout_seconds=0.5, default_eta_seconds=0.3)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    rid = request_id_of(runcomfy_fake)
    runcomfy_fake.set_state(rid, "in_progress")
    await wait_state(discord_fake, status, "Rendering")
    await discord_fake.wait_for(
        lambda: "Taking longer than usual" in json.dumps(status.embeds), within=5
    )
    await asyncio.sleep(0.6)  # past the old JOB_TIMEOUT_SECONDS since submit
    assert "Rendering" in state_of(status)
    assert "Taking longer than usual" in embed_field(status, "Expected")
    runcomfy_fake.set_state(rid, "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.DELIVERED


async def test_a_render_past_the_hard_cap_says_it_may_have_been_charged(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot: AnimateBot = await runner.start(render_hard_cap_seconds=0.5)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "in_progress")
    await wait_state(discord_fake, status, "Timed out")
    said = "Its cost may still count"  # the author's words for "it may have been charged"
    assert said in state_of(status)
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if said in m.content]
    )
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    assert "Timed out" in json.dumps(detail.embeds)
    assert said in json.dumps(detail.embeds)


@pytest.mark.parametrize("polled_on", ["status", "result"])
async def test_a_render_that_fails_at_runcomfy_records_the_cost_it_reports(
    harness_factory, polled_on: str
) -> None:
    # "Record cost on every end": a render RunComfy failed and billed ended with no cost,
    # so budgets kept its estimate and the spend metrics missed it.
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True, outcome="failed", error="render crashed", cost=0.07))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    if polled_on == "result":  # rendering: the bot asks /result, which sees the failure
        h.fake.set_state(job.request_id, "in_progress")
        await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    h.fake.set_state(job.request_id, "failed")
    failed = await h.wait_status(job.id, JobStatus.FAILED)
    assert "render crashed" in (failed.error or "")
    assert failed.cost == pytest.approx(0.07)
