"""Runs the real bot, built by the composition root, against the two loopback fakes.

Used by the test fixtures and by the benchmarks. Nothing leaves 127.0.0.1:
discord.py's REST base and gateway URL are pointed at the fake Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from pydantic import SecretStr

from app.assemble import assemble
from app.client import AnimateBot
from bot.config import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy

DISCORD_TOKEN = "fake-discord-token.Canary-0f3c9d"
RUNCOMFY_TOKEN = "fake-runcomfy-token-Canary-7a21be"


def settings_for_fakes(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, database: Path, **overrides: Any
) -> Settings:
    """Settings for a bot wired to the fakes, with short intervals."""
    values: dict[str, Any] = {
        "discord_token": SecretStr(DISCORD_TOKEN),
        "runcomfy_api_token": SecretStr(RUNCOMFY_TOKEN),
        "runcomfy_base_url": runcomfy_fake.base_url,
        "database_path": database,
        "discord_guild_ids": [discord_fake.guild_id],
        "poll_min_seconds": 0.05,
        "poll_max_seconds": 0.2,
        "default_eta_seconds": 0.5,
        "job_timeout_seconds": 20.0,
        "http_timeout_seconds": 5.0,
        "status_edit_interval_seconds": 0.1,
        "allow_private_urls": True,  # both fakes live on 127.0.0.1
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.contextmanager
def pointed_at(discord_fake: FakeDiscord):  # type: ignore[no-untyped-def]
    """Redirect discord.py's REST and gateway to the fake (undocumented class attributes)."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = discord_fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord_fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


class BotRunner:
    """Starts, stops and restarts the real bot against the same fakes and database."""

    def __init__(self, settings: Settings, discord_fake: FakeDiscord) -> None:
        self.settings = settings
        self.discord_fake = discord_fake
        self.bot: AnimateBot | None = None
        self.starts = 0
        self.last_start_seconds = 0.0
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, **settings_overrides: Any) -> AnimateBot:
        if settings_overrides:
            self.settings = self.settings.model_copy(update=settings_overrides)
        began = time.perf_counter()
        self.discord_fake.identified.clear()
        stack = contextlib.AsyncExitStack()
        bot = await stack.enter_async_context(assemble(self.settings, guild_ready_timeout=0.01))
        self._stack, self.bot = stack, bot
        self._task = asyncio.create_task(bot.start(DISCORD_TOKEN), name="bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self.stop()
            raise RuntimeError("the bot did not become ready against the fake")
        if self._task.done():
            self._task.result()  # raise what went wrong
        self.last_start_seconds = time.perf_counter() - began
        self.starts += 1
        return bot

    async def stop(self) -> None:
        """Close the bot as the process would on exit: trackers stop, rows stay."""
        if self._stack is not None:
            await self._stack.aclose()  # bot.close(), then the store and HTTP clients
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._stack = self._task = self.bot = None
        await self.discord_fake.drop_gateway()

    async def restart(self) -> AnimateBot:
        await self.stop()
        return await self.start()
