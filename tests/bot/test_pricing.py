"""The model's price and presence: PriceWatch alone, then as users see it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from app.client import AnimateBot
from bot.domain import JobStatus
from bot.pricing import PriceWatch
from bot.runcomfy import RunComfyClient, make_http_client
from tests.cogs.animate.test_animate import embed_field, png, start_queued, wait_state
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import RUNCOMFY_TOKEN, BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


@pytest.fixture
async def http(runcomfy_fake: FakeRunComfy) -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(runcomfy_fake.base_url, SecretStr(RUNCOMFY_TOKEN), 1.0) as client:
        yield client


def watch(http: httpx.AsyncClient, fake: FakeRunComfy, alerts: list[str]) -> PriceWatch:
    async def alert(text: str) -> None:
        alerts.append(text)

    client = RunComfyClient(http, model_id=fake.model_id, max_attempts=2, backoff_base=0.001)
    return PriceWatch(client, model_id=fake.model_id, refresh_seconds=3600, alert=alert)


async def test_no_estimate_before_runcomfy_gave_a_price(
    http: httpx.AsyncClient, runcomfy_fake: FakeRunComfy
) -> None:
    pricing = watch(http, runcomfy_fake, [])
    assert pricing.estimate(5) is None  # nothing read yet: never guessed
    await pricing.refresh()
    assert pricing.estimate(5) == pytest.approx(0.12)
    assert pricing.estimate(12) == pytest.approx(0.288)
    runcomfy_fake.base_price_usd = None
    await pricing.refresh()
    assert pricing.estimate(5) is None


async def test_a_transient_failure_keeps_the_last_price(
    http: httpx.AsyncClient, runcomfy_fake: FakeRunComfy
) -> None:
    pricing = watch(http, runcomfy_fake, [])
    await pricing.refresh()
    runcomfy_fake.inject("model", "503", times=2)
    await pricing.refresh()
    assert runcomfy_fake.count("model") == 3
    assert pricing.estimate(5) == pytest.approx(0.12) and not pricing.model_missing


async def test_a_retired_model_is_alerted_once_and_recovers(
    http: httpx.AsyncClient, runcomfy_fake: FakeRunComfy, caplog: pytest.LogCaptureFixture
) -> None:
    alerts: list[str] = []
    pricing = watch(http, runcomfy_fake, alerts)
    await pricing.refresh()
    runcomfy_fake.model_retired = True
    await pricing.refresh()
    await pricing.refresh()  # hourly refreshes do not repeat the alert
    assert pricing.model_missing and pricing.estimate(5) is None
    assert len(alerts) == 1 and "RUNCOMFY_MODEL_ID" in alerts[0]
    assert [r.levelno for r in caplog.records if "RUNCOMFY_MODEL_ID" in r.message] == [
        logging.ERROR
    ]
    runcomfy_fake.model_retired = False
    await pricing.refresh()
    assert not pricing.model_missing and pricing.estimate(5) == pytest.approx(0.12)


async def test_status_shows_the_estimate_and_delivery_the_real_cost(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    assert embed_field(status, "Cost") == "≈ $0.12"
    runcomfy_fake.jobs[list(runcomfy_fake.jobs)[-1]].timeline = Timeline(manual=True, cost=0.31)
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "completed")
    await wait_state(discord_fake, status, "Done")
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status is JobStatus.DELIVERED and job.cost == pytest.approx(0.31)
    assert embed_field(status, "Cost") == "$0.31"
    delivered = discord_fake.messages[job.delivered_message_id]  # type: ignore[index]
    assert "your video is ready" in delivered.content and "$0.31" in delivered.content
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    assert embed_field(detail, "Cost") == "$0.31"


async def test_no_price_known_shows_none(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.price_unit = "token"  # a unit the bot does not know: no estimate
    await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    with pytest.raises(KeyError):
        embed_field(status, "Cost")
    assert "$" not in str(status.embeds)


async def test_the_price_is_refreshed(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(price_refresh_seconds=0.1)
    assert bot.services.pricing.estimate(10) == pytest.approx(0.24)
    runcomfy_fake.base_price_usd = 0.05
    await discord_fake.wait_for(lambda: bot.services.pricing.estimate(10) == pytest.approx(0.5))


async def test_a_missing_model_alerts_the_operator_and_animate_says_unavailable(
    runner: BotRunner,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runcomfy_fake.model_retired = True
    bot = await runner.start(admin_channel_id=discord_fake.art)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("RUNCOMFY_MODEL_ID" in r.getMessage() for r in errors)
    (alert,) = discord_fake.channel_messages(discord_fake.art)
    assert "RUNCOMFY_MODEL_ID" in alert.content and runcomfy_fake.model_id in alert.content

    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    text = discord_fake.messages[ix.original_id].content  # type: ignore[index]
    assert "unavailable" in text and "RunComfy" not in text
    assert runcomfy_fake.submits == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 0


async def test_a_linked_video_says_its_cost_too(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(
        Timeline(queue_seconds=0.1, run_seconds=0.1, video_size=3 * 1024 * 1024, cost=0.27)
    )
    discord_fake.upload_limit = 2 * 1024 * 1024
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="p", attachment_size_limit=2 * 1024 * 1024
    )
    (link,) = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "upload limit" in m.content],
        within=10,
    )
    assert "$0.27" in link.content
    await wait_state(discord_fake, discord_fake.messages[ix.original_id], "Done")  # type: ignore[index]
