"""The composition root: builds every service and hands it to the bot.

This is the only module of `bot/` that imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import discord.http
import httpx
from discord import app_commands
from discord.ext import commands

from bot.admission import Admission
from bot.check import DiscordLoginFailed, GuildFacts
from bot.config import Settings, SettingsError, load_settings
from bot.guild_settings import GuildAdmin
from bot.health import beat_forever
from bot.jobs import JobService
from bot.logs import setup_logging
from bot.metrics import Metrics, sample_forever
from bot.pricing import PriceWatch
from bot.ratelimit import RateBudget
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore, open_store
from cogs.translator import CatalogTranslator

log = logging.getLogger(__name__)

# Loaded in this order in setup_hook; listed, never discovered.
EXTENSIONS: tuple[str, ...] = ("cogs.about", "cogs.animate", "cogs.history", "cogs.admin")
PURGE_EVERY_SECONDS = 24 * 60 * 60
# Discord allows 50 requests/s per bot token; interaction and webhook routes are exempt.
# Paced where Discord counts them, on the wire, with room for the burst.
BOT_REQUESTS_PER_SECOND = 40.0
BOT_REQUESTS_BURST = 5
EXEMPT_ROUTES = ("/interactions/", "/webhooks/")


def _route_kind(path: str) -> str | None:
    """`bot_token` (counted by Discord's global limit), `interaction`, or None (not REST)."""
    if "/api/" not in path:
        return None
    return "interaction" if any(route in path for route in EXEMPT_ROUTES) else "bot_token"


def paced_bot_token_requests(
    budget: RateBudget, metrics: Metrics | None = None
) -> aiohttp.TraceConfig:
    """An aiohttp trace that holds each bot-token REST request until the budget allows it.

    Pacing here rather than before each call: discord.py queues requests per route
    bucket, and a queue that drains at once would send a burst the budget never saw.
    It also counts every REST request and every 429 for the metrics, on the wire,
    so discord.py's own retries are counted too.
    """

    async def on_request_start(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if _route_kind(params.url.path) == "bot_token":
            await budget.acquire()

    async def on_request_end(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        kind = _route_kind(params.url.path)
        if kind is not None and metrics is not None:
            response = params.response
            scope = response.headers.get("X-RateLimit-Scope")
            metrics.discord_request(kind, response.status, scope)

    async def on_request_exception(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        kind = _route_kind(params.url.path)
        if kind is not None and metrics is not None:
            metrics.discord_request(kind, None)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_request_end)
    trace.on_request_exception.append(on_request_exception)
    return trace


class DiscordRestProbe:
    """`python -m bot check`'s view of Discord: REST with the bot token, no gateway."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._http = discord.http.HTTPClient(asyncio.get_running_loop())

    async def __aenter__(self) -> DiscordRestProbe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.close()

    async def login(self) -> tuple[int, str]:
        try:
            user = await self._http.static_login(self._token)
        except discord.LoginFailure:
            raise DiscordLoginFailed from None
        except (aiohttp.ClientError, discord.HTTPException) as exc:
            raise ConnectionError(type(exc).__name__) from None
        return int(user["id"]), str(user["username"])

    async def guild(self, guild_id: int, bot_id: int) -> GuildFacts | None:
        try:
            guild = await self._http.get_guild(guild_id, with_counts=False)
            member = await self._http.get_member(guild_id, bot_id)
        except (discord.NotFound, discord.Forbidden):
            return None  # Discord answers 403 for a guild the bot is not in, 404 for no guild
        except (aiohttp.ClientError, discord.HTTPException) as exc:
            raise ConnectionError(type(exc).__name__) from None
        return GuildFacts(
            guild_id=guild_id,
            name=str(guild["name"]),
            owner_id=int(guild["owner_id"]),
            role_permissions={int(r["id"]): int(r["permissions"]) for r in guild["roles"]},
            member_roles=[int(role) for role in member["roles"]],
        )


@dataclass(frozen=True)
class Services:
    """What the cogs may use; built once by `assemble`."""

    settings: Settings
    store: JobStore
    jobs: JobService
    pricing: PriceWatch
    admission: Admission
    guild_admin: GuildAdmin
    metrics: Metrics


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
                RateBudget(BOT_REQUESTS_PER_SECOND, burst=BOT_REQUESTS_BURST), services.metrics
            ),
            **options,
        )
        self.services = services
        self._purger: asyncio.Task[None] | None = None
        self._pricer: asyncio.Task[None] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def jobs(self) -> JobService:
        return self.services.jobs

    async def setup_hook(self) -> None:
        # Before the sync: the synced payload carries the commands' localized texts.
        await self.tree.set_translator(CatalogTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()
        await self._watch_price()
        # The cogs observe the jobs now, so unfinished ones can be picked up again.
        await self.jobs.resume()
        if self.settings.history_retention_days is not None:
            self._purger = asyncio.create_task(self._purge_daily(), name="purge-history")

    async def _watch_price(self) -> None:
        """Read the model and its price now (bounded: start-up must not hang), then hourly."""
        pricing = self.services.pricing
        pricing.alert = self.alert_operator
        try:
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                await pricing.refresh()
        except TimeoutError:
            log.warning("RunComfy did not say the model's price in time; retrying hourly")
        self._pricer = asyncio.create_task(pricing.run(), name="refresh-price")

    async def alert_operator(self, text: str) -> None:
        """Post an operator alert to ADMIN_CHANNEL_ID, if set (the log has it anyway)."""
        channel_id = self.settings.admin_channel_id
        if channel_id is not None:
            await self.get_partial_messageable(channel_id).send(f"⚠️ {text}")

    async def _purge_daily(self) -> None:
        while True:
            purged = await self.jobs.purge_expired()
            if purged:
                log.info("Purged %d jobs past the retention period", purged)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    async def close(self) -> None:
        background = [task for task in (self._purger, self._pricer) if task is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
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
        await open_store(settings) as store,
    ):
        metrics = Metrics()
        runcomfy = RunComfyClient(
            runcomfy_http,
            model_id=settings.runcomfy_model_id,
            requests_per_second=settings.runcomfy_requests_per_second,
            metrics=metrics,
        )
        pricing = PriceWatch(
            runcomfy,
            model_id=settings.runcomfy_model_id,
            refresh_seconds=settings.price_refresh_seconds,
        )
        admission = Admission(settings=settings, store=store, pricing=pricing)
        jobs = JobService(
            settings=settings,
            store=store,
            runcomfy=runcomfy,
            cdn_http=cdn_http,
            admission=admission,
            metrics=metrics,
        )
        services = Services(
            settings=settings,
            store=store,
            jobs=jobs,
            pricing=pricing,
            admission=admission,
            guild_admin=GuildAdmin(settings=settings, store=store),
            metrics=metrics,
        )
        bot = AnimateBot(services, **_shard_options(settings), **bot_options)
        monitors = _start_monitors(bot)
        try:
            yield bot
        finally:
            for task in monitors:
                task.cancel()
            await asyncio.gather(*monitors, return_exceptions=True)
            metrics.stop_serving()
            await bot.close()


def _shard_options(settings: Settings) -> dict[str, Any]:
    """SHARD_COUNT and SHARD_IDS for AutoShardedBot; unset, discord.py asks Discord."""
    options: dict[str, Any] = {}
    if settings.shard_count is not None:
        options["shard_count"] = settings.shard_count
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
    return options


def _start_monitors(bot: AnimateBot) -> list[asyncio.Task[None]]:
    """The metrics sampler (and server) and the heartbeat; stopped by `assemble`."""
    settings, services = bot.settings, bot.services
    tasks = []
    if settings.metrics_port is not None and services.metrics.serve(
        settings.metrics_host, settings.metrics_port
    ):
        tasks.append(
            asyncio.create_task(
                sample_forever(
                    services.metrics,
                    jobs_by_state=services.store.count_active_by_status,
                    live_trackers=lambda: services.jobs.live_trackers,
                ),
                name="metrics-sampler",
            )
        )
    if settings.heartbeat_path is not None:
        tasks.append(
            asyncio.create_task(
                beat_forever(settings.heartbeat_path, lambda: _gateway_connected(bot)),
                name="heartbeat",
            )
        )
    return tasks


def _gateway_connected(bot: AnimateBot) -> bool:
    shards = bot.shards.values()
    return bot.is_ready() and not bot.is_closed() and all(not s.is_closed() for s in shards)


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
