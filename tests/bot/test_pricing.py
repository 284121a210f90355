"""What a video costs as the bot says it: Pricing alone, then as users see it.

Reading each model's price from RunComfy (at start, at every refresh, a retired model)
is the models registry's (tests/bot/models/test_registry.py); here, what that price
becomes: the estimate shown "≈" and counted by budgets, then the real cost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.client import AnimateBot
from bot.domain import ImageFacts, Job, JobStatus
from bot.models.model import VideoModel
from bot.models.registry import Models
from bot.pricing import LEARNED_AFTER, Pricing
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.cogs.animate.helpers import embed_field, png, start_queued, wait_state
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import RUNCOMFY_TOKEN, BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.models import job_fields, options

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)


class Alerts(list[str]):
    async def __call__(self, text: str) -> None:
        self.append(text)


Registry = Callable[..., Awaitable[Models]]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with await JobStore.open(tmp_path / "bot.db") as opened:
        yield opened


@pytest.fixture
async def loaded(runcomfy_fake: FakeRunComfy, store: JobStore) -> AsyncIterator[Registry]:
    """The fake's first model, read by the registry as the bot reads it at start."""
    http = make_http_client(runcomfy_fake.base_url, SecretStr(RUNCOMFY_TOKEN), 1.0)
    client = RunComfyClient(http, max_attempts=2, backoff_base=0.001)

    async def load(alerts: Alerts | None = None) -> Models:
        models = Models(
            client,
            store,
            [runcomfy_fake.model_id],
            alert=alerts,
            confirm_seconds=0.01,
            start_confirm_seconds=0.01,
        )
        await models.load()
        return models

    async with http:
        yield load


def the_model(models: Models, fake: FakeRunComfy) -> VideoModel:
    model = models.get(fake.model_id)
    assert model is not None
    return model


async def test_no_estimate_without_a_price_runcomfy_gave(
    loaded: Registry, runcomfy_fake: FakeRunComfy, store: JobStore
) -> None:
    models, pricing = await loaded(), Pricing(store)
    model = the_model(models, runcomfy_fake)
    # $0.024 a second: 5 s, audio on (its share unknown: counted double, erring high).
    assert await pricing.quote(model) == pytest.approx(0.24)
    assert await pricing.estimate(model, options(duration=12, audio=False)) == pytest.approx(0.288)
    # 720p costs its pixels: (720/480)² of the 480p price.
    assert await pricing.estimate(model, options(resolution="720p", audio=False)) == (
        pytest.approx(0.12 * 2.25)
    )
    runcomfy_fake.base_price_usd = None
    await models.refresh()
    assert await pricing.quote(the_model(models, runcomfy_fake)) is None  # never guessed
    runcomfy_fake.base_price_usd, runcomfy_fake.price_unit = 0.024, "token"
    await models.refresh()
    assert await pricing.quote(the_model(models, runcomfy_fake)) is None  # a unit unknown


async def test_a_transient_failure_keeps_the_last_price(
    loaded: Registry, runcomfy_fake: FakeRunComfy, store: JobStore
) -> None:
    models = await loaded()
    runcomfy_fake.inject("model", "503", times=2)
    await models.refresh()
    assert runcomfy_fake.count("model") == 3  # the start, then both attempts
    assert await Pricing(store).quote(the_model(models, runcomfy_fake)) == pytest.approx(0.24)


async def test_a_retired_model_is_alerted_once_and_recovers(
    loaded: Registry,
    runcomfy_fake: FakeRunComfy,
    store: JobStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts = Alerts()
    models = await loaded(alerts)
    runcomfy_fake.model_retired = True
    for _ in range(3):  # a first 404 is confirmed; later refreshes do not repeat the alert
        await models.refresh()
    assert models.get(runcomfy_fake.model_id) is None and models.available() == []
    assert len(alerts) == 1 and "RUNCOMFY_MODEL_IDS" in alerts[0]
    assert [r.levelno for r in caplog.records if "RUNCOMFY_MODEL_IDS" in r.message] == [
        logging.ERROR
    ]
    runcomfy_fake.model_retired = False
    await models.refresh()
    assert await Pricing(store).quote(the_model(models, runcomfy_fake)) == pytest.approx(0.24)


async def test_delivered_costs_of_a_kind_decide_once_there_are_enough(
    loaded: Registry, runcomfy_fake: FakeRunComfy, store: JobStore
) -> None:
    model = the_model(await loaded(), runcomfy_fake)
    for i, cost in enumerate((0.21, 0.31, 0.25)[: LEARNED_AFTER - 1]):
        await store.create(delivered(cost, at=1000.0 + i))
    assert await Pricing(store).quote(model) == pytest.approx(0.24)  # too few: first estimate
    await store.create(delivered(0.25, at=1010.0))
    await store.create(delivered(None, at=1020.0))  # no cost reported: says nothing
    # The highest of the latest: prices move, and an estimate should not fall short.
    assert await Pricing(store).quote(model) == pytest.approx(0.31)
    # Another kind (720p) has no costs of its own yet.
    assert await Pricing(store).estimate(model, options(resolution="720p")) == (
        pytest.approx(0.24 * 2.25)
    )


def delivered(cost: float | None, *, at: float) -> Job:
    return Job(
        user_id=1,
        prompt="p",
        image=IMAGE,
        status=JobStatus.DELIVERED,
        created_at=at - 60,
        finished_at=at,
        cost=cost,
        **job_fields(),
    )


async def test_status_shows_the_estimate_and_delivery_the_real_cost(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    assert embed_field(status, "Cost") == "≈ $0.24"
    (queued,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert queued.estimate_usd == pytest.approx(0.24)  # kept: budgets count it until the cost
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


async def test_no_price_known_shows_none_and_no_budget_admits_it(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.price_unit = "token"  # a unit the bot does not know: no estimate
    await runner.start()
    _, status = await start_queued(discord_fake, runcomfy_fake)
    with pytest.raises(KeyError):
        embed_field(status, "Cost")
    assert "$" not in str(status.embeds)
    # Under a budget, a job whose price is unknown is refused: never counted as $0.
    await runner.stop()
    bot = await runner.start(daily_spend_usd=5.0)
    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    assert "price is unknown" in discord_fake.messages[ix.original_id].content  # type: ignore[index]
    assert len(runcomfy_fake.submits) == 1
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 1


async def test_the_price_is_refreshed(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(price_refresh_seconds=0.1)
    ten_seconds_silent = options(duration=10, audio=False)

    def model() -> VideoModel:
        found = bot.services.models.get(runcomfy_fake.model_id)
        assert found is not None
        return found

    assert await bot.services.pricing.estimate(model(), ten_seconds_silent) == pytest.approx(0.24)
    runcomfy_fake.base_price_usd = 0.05
    await discord_fake.wait_for(lambda: model().base_price_usd == 0.05)
    assert await bot.services.pricing.estimate(model(), ten_seconds_silent) == pytest.approx(0.5)


async def test_a_retired_model_alerts_the_operator_and_animate_says_unavailable(
    runner: BotRunner,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = await runner.start(admin_channel_id=discord_fake.art, price_refresh_seconds=0.1)
    runcomfy_fake.model_retired = True  # RunComfy retires the only model while the bot runs
    (alert,) = await discord_fake.wait_for(
        lambda: discord_fake.channel_messages(discord_fake.art), within=10
    )
    assert "RUNCOMFY_MODEL_IDS" in alert.content and runcomfy_fake.model_id in alert.content
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("RUNCOMFY_MODEL_IDS" in r.getMessage() for r in errors)

    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    text = discord_fake.messages[ix.original_id].content  # type: ignore[index]
    assert "No video model is available" in text and "RunComfy" not in text
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
