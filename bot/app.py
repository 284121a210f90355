"""The composition root: builds every service and hands it to the bot.

This is the only module of `bot/` that imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import httpx
from discord import app_commands
from discord.ext import commands

from bot.config import Settings, SettingsError, load_settings
from bot.jobs import JobService
from bot.logs import setup_logging
from bot.ratelimit import RateBudget
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore

log = logging.getLogger(__name__)

# Loaded in this order in setup_hook; listed, never discovered.
EXTENSIONS: tuple[str, ...] = ("cogs.about", "cogs.animate", "cogs.history")
PURGE_EVERY_SECONDS = 24 * 60 * 60
# Discord allows 50 requests/s per bot token; interaction and webhook routes are exempt.
# Paced where Discord counts them, on the wire, with room for the burst.
BOT_REQUESTS_PER_SECOND = 40.0
BOT_REQUESTS_BURST = 5
EXEMPT_ROUTES = ("/interactions/", "/webhooks/")


def paced_bot_token_requests(budget: RateBudget) -> aiohttp.TraceConfig:
    """An aiohttp trace that holds each bot-token REST request until the budget allows it.

    Pacing here rather than before each call: discord.py queues requests per route
    bucket, and a queue that drains at once would send a burst the budget never saw.
    """

    async def on_request_start(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        path = params.url.path
        if "/api/" in path and not any(route in path for route in EXEMPT_ROUTES):
            await budget.acquire()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace


@dataclass(frozen=True)
class Services:
    """What the cogs may use; built once by `assemble`."""

    settings: Settings
    store: JobStore
    jobs: JobService


SORRY = "Something went wrong on my side and the operator has been told. Please try again shortly."


class AnimateTree(app_commands.CommandTree["AnimateBot"]):
    """The last layer of error handling: what no cog turned into a reply."""

    async def on_error(
        self, interaction: discord.Interaction[AnimateBot], error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "Command /%s failed for user %s in guild %s",
            command,
            interaction.user.id,
            interaction.guild_id,
            exc_info=error,
        )
        try:
            if interaction.response.is_done():
                await interaction.followup.send(SORRY, ephemeral=True)
            else:
                await interaction.response.send_message(SORRY, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not tell user %s that /%s failed", interaction.user.id, command)


class AnimateBot(commands.AutoShardedBot):
    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            # Nobody is pinged unless a message says so explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=AnimateTree,
            http_trace=paced_bot_token_requests(
                RateBudget(BOT_REQUESTS_PER_SECOND, burst=BOT_REQUESTS_BURST)
            ),
            **options,
        )
        self.services = services
        self._purger: asyncio.Task[None] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def jobs(self) -> JobService:
        return self.services.jobs

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()
        # The cogs observe the jobs now, so unfinished ones can be picked up again.
        await self.jobs.resume()
        if self.settings.history_retention_days is not None:
            self._purger = asyncio.create_task(self._purge_daily(), name="purge-history")
        # Everything built so far lives as long as the process: move it out of the
        # collector's generations so 1,000 live jobs' churn does not rescan it.
        gc.freeze()

    async def _purge_daily(self) -> None:
        while True:
            purged = await self.jobs.purge_expired()
            if purged:
                log.info("Purged %d jobs past the retention period", purged)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    async def close(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
        # Stop trackers before the cogs go: rows stay and resume at the next start.
        await self.jobs.close()
        await super().close()

    async def _sync_commands(self) -> None:
        guild_ids = self.settings.discord_guild_ids
        if not guild_ids:
            synced = await self.tree.sync()
            log.info("Synced %d global commands", len(synced))
            return
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %d", len(synced), guild_id)

    async def on_ready(self) -> None:
        log.info("Ready as %s in %d guilds", self.user, len(self.guilds))


@contextlib.asynccontextmanager
async def assemble(settings: Settings, **bot_options: Any) -> AsyncIterator[AnimateBot]:
    """Open every resource the bot needs and close them all afterwards.

    `bot_options` go to discord.py's client (tests shorten `guild_ready_timeout`).
    """
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=10.0)
    runcomfy_http = make_http_client(
        settings.runcomfy_base_url, settings.runcomfy_api_token, settings.http_timeout_seconds
    )
    async with (
        runcomfy_http,
        # For public CDN downloads (videos): never carries the RunComfy token.
        httpx.AsyncClient(timeout=timeout, follow_redirects=True) as cdn_http,
        await JobStore.open(settings.database_path) as store,
    ):
        runcomfy = RunComfyClient(
            runcomfy_http,
            model_id=settings.runcomfy_model_id,
            requests_per_second=settings.runcomfy_requests_per_second,
        )
        jobs = JobService(settings=settings, store=store, runcomfy=runcomfy, cdn_http=cdn_http)
        bot = AnimateBot(Services(settings=settings, store=store, jobs=jobs), **bot_options)
        try:
            yield bot
        finally:
            await bot.close()


async def run(settings: Settings, **bot_options: Any) -> None:
    async with assemble(settings, **bot_options) as bot:
        await bot.start(settings.discord_token.get_secret_value())


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN: check it in the developer portal.")
        return 1
    except KeyboardInterrupt:
        pass
    return 0
