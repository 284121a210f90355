"""Fixtures: the two loopback fakes and the real bot connected through them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.client import AnimateBot
from bot.config import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import (
    DISCORD_TOKEN,
    RUNCOMFY_TOKEN,
    BotRunner,
    pointed_at,
    settings_for_fakes,
)
from tests.fakes.runcomfy import FakeRunComfy

# Both store backends (SQLite, PostgreSQL) for the tests that take them.
from tests.stores import backend, open_store_at, pg_url  # noqa: F401


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.close()
    # A route the fake does not know means the bot did something we did not model.
    assert not fake.unhandled, f"unhandled Discord routes: {fake.unhandled}"


@pytest.fixture
async def runcomfy_fake() -> AsyncIterator[FakeRunComfy]:
    async with FakeRunComfy(token=RUNCOMFY_TOKEN) as fake:
        yield fake


@pytest.fixture
def settings(discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path) -> Settings:
    return settings_for_fakes(discord_fake, runcomfy_fake, tmp_path / "bot.db")


@pytest.fixture
async def runner(settings: Settings, discord_fake: FakeDiscord) -> AsyncIterator[BotRunner]:
    """The real bot; `await runner.start()` / `.stop()` / `.restart()` within a test."""
    with pointed_at(discord_fake):
        bot_runner = BotRunner(settings, discord_fake)
        try:
            yield bot_runner
        finally:
            await bot_runner.stop()


@pytest.fixture
async def bot(runner: BotRunner) -> AnimateBot:
    return await runner.start()


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test does, the canary tokens never reach a log line."""
    yield
    for canary in (DISCORD_TOKEN, RUNCOMFY_TOKEN):
        assert canary not in caplog.text, "a token was logged"


@pytest.fixture(autouse=True)
async def no_stray_tasks() -> AsyncIterator[None]:
    """A test must not leave tasks running behind it."""
    before = set(asyncio.all_tasks())
    yield
    await asyncio.sleep(0)
    stray = [
        t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()
    ]
    for task in stray:
        task.cancel()
    assert not stray, f"tasks left running: {[t.get_name() for t in stray]}"
