"""Prometheus metrics: the real bot with METRICS_PORT set, one job through the fakes, a scrape."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from tests.cogs.animate.helpers import png, request_id_of
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15

MODEL = SEEDANCE_15  # the fake's model: every job's `model` label


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, parsed by prometheus-client's own parser."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_with_a_job_and_are_served_on_metrics_port(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    port = free_port()
    bot = await runner.start(metrics_port=port)
    metrics: Metrics = bot.services.metrics

    before = await scrape(port)
    assert value(before, "animate_jobs_ended_total", outcome="delivered", model=MODEL) == 0
    assert value(before, "animate_runcomfy_requests_total", endpoint="submit", outcome="2xx") == 0

    # One job that sits queued long enough for the sampler to see it, then delivers.
    runcomfy_fake.script(Timeline(queue_positions=(1,), queue_seconds=1.5, run_seconds=0.3))
    discord_fake.rate_limit_once("/reactions/")  # the bot's own ❌: one 429, then retried
    await discord_fake.invoke("animate", image=png(), prompt="the waves roll in")
    await discord_fake.wait_for(
        lambda: (
            metrics.value("animate_jobs", state="in_queue") == 1
            and metrics.value("animate_live_trackers") == 1
        ),
        within=5,
    )
    await discord_fake.wait_for(
        lambda: metrics.value("animate_jobs_ended_total", outcome="delivered", model=MODEL) == 1,
        within=10,
    )
    await discord_fake.wait_for(lambda: metrics.value("animate_live_trackers") == 0, within=5)

    after = await scrape(port)
    assert value(after, "animate_jobs_ended_total", outcome="delivered", model=MODEL) == 1
    assert value(after, "animate_jobs_ended_total", outcome="failed", model=MODEL) == 0
    assert value(after, "animate_deliveries_total", kind="upload") == 1
    assert value(after, "animate_deliveries_total", kind="link") == 0
    # The fake reports a cost of $0.12 with include_cost=true.
    assert value(after, "animate_spend_dollars_total", model=MODEL) == 0.12
    assert value(after, "animate_runcomfy_requests_total", endpoint="submit", outcome="2xx") == 1
    assert value(after, "animate_runcomfy_requests_total", endpoint="status", outcome="2xx") >= 2
    assert value(after, "animate_runcomfy_requests_total", endpoint="result", outcome="2xx") >= 1
    submit_seconds = value(after, "animate_runcomfy_request_seconds_count", endpoint="submit")
    assert submit_seconds == 1
    assert value(after, "animate_runcomfy_request_seconds_sum", endpoint="submit") > 0
    assert value(after, "animate_discord_requests_total", route="bot_token", outcome="2xx") > 0
    assert value(after, "animate_discord_requests_total", route="interaction", outcome="2xx") > 0
    assert value(after, "animate_discord_requests_total", route="bot_token", outcome="429") == 1
    assert value(after, "animate_discord_rate_limited_total", scope="user") == 1
    assert value(after, "animate_event_loop_lag_seconds_count") >= 1
    assert value(after, "animate_live_trackers") == 0
    assert value(after, "animate_jobs", state="in_queue") in (0, 1)  # sampled each second
    assert value(after, "animate_runcomfy_in_flight_limit") == 16  # RunComfy is near

    await runner.stop()
    await nothing_answers(port)  # the server went with the bot


async def nothing_answers(port: int) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_no_metrics_port_serves_nothing(runner: BotRunner) -> None:
    port = free_port()
    await runner.start()
    assert runner.settings.metrics_port is None
    await nothing_answers(port)


def test_two_bots_in_one_process_keep_separate_counters() -> None:
    first, second = Metrics(), Metrics()
    first.job_ended("delivered", MODEL)
    first.delivered("dm", 0.3, MODEL)
    assert first.value("animate_jobs_ended_total", outcome="delivered", model=MODEL) == 1
    assert first.value("animate_spend_dollars_total", model=MODEL) == 0.3
    assert second.value("animate_jobs_ended_total", outcome="delivered", model=MODEL) == 0
    second.delivered("link", None, MODEL)
    assert second.value("animate_jobs_without_cost_total", model=MODEL) == 1
    assert second.value("animate_spend_dollars_total", model=MODEL) == 0
    # Per model: another model's counters are its own.
    first.delivered("upload", 0.5, "other/model")
    assert first.value("animate_spend_dollars_total", model="other/model") == 0.5
    assert first.value("animate_spend_dollars_total", model=MODEL) == 0.3


async def test_a_video_too_large_to_download_counts_as_a_link_delivery(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(max_video_bytes=1000)  # every fake video is larger
    metrics: Metrics = bot.services.metrics
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await discord_fake.invoke("animate", image=png(), prompt="the waves roll in")
    await discord_fake.wait_for(
        lambda: metrics.value("animate_jobs_ended_total", outcome="delivered", model=MODEL) == 1,
        within=10,
    )
    assert metrics.value("animate_deliveries_total", kind="link") == 1
    assert metrics.value("animate_deliveries_total", kind="upload") == 0
    assert any("here is a link" in m.content for m in discord_fake.channel_messages())


async def test_a_taken_metrics_port_is_logged_and_the_bot_still_runs(
    runner: BotRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        bot = await runner.start(metrics_port=port)
        assert bot.is_ready()
    assert f"Cannot serve metrics on 127.0.0.1:{port}" in caplog.text
    assert "METRICS_PORT" in caplog.text


async def test_a_dm_delivery_and_a_refused_submit_are_counted(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start()
    metrics: Metrics = bot.services.metrics
    # The channel is hidden from the bot and the token expired: only a DM reaches the author.
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", channel=discord_fake.hidden)
    await discord_fake.wait_for(lambda: runcomfy_fake.submits)
    discord_fake.expire(ix)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await discord_fake.wait_for(
        lambda: metrics.value("animate_deliveries_total", kind="dm") == 1, within=10
    )
    assert metrics.value("animate_deliveries_total", kind="upload") == 0

    # RunComfy refuses the next submit (a balance empty): failed, counted once, nothing spent.
    runcomfy_fake.inject("submit", "balance")
    await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(
        lambda: metrics.value("animate_jobs_ended_total", outcome="failed", model=MODEL) == 1,
        within=10,
    )
    assert metrics.value("animate_runcomfy_requests_total", endpoint="submit", outcome="4xx") == 1
    assert (
        metrics.value("animate_spend_dollars_total", model=MODEL) == 0.12
    )  # the first job's cost only


async def test_what_runcomfy_billed_for_a_video_never_delivered_is_in_the_spend(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The spend counted delivered videos alone: a render past the hard cap, billed and
    # reported, was missing from what the operator compares with RunComfy's bill.
    bot = await runner.start(render_hard_cap_seconds=0.5)
    metrics: Metrics = bot.services.metrics
    runcomfy_fake.script(Timeline(manual=True, cost_while_running=True, cost=0.31))
    await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: runcomfy_fake.submits)
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "in_progress")
    await discord_fake.wait_for(
        lambda: metrics.value("animate_jobs_ended_total", outcome="timed_out", model=MODEL),
        within=10,
    )
    assert metrics.value("animate_spend_dollars_total", model=MODEL) == pytest.approx(0.31)
    assert metrics.value("animate_jobs_without_cost_total", model=MODEL) == 0
