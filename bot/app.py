"""The composition root: builds every service and hands it to the bot.

This is the only module of `bot/` that imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import discord.http
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
from bot.store import JobStore, StoreUnavailable, open_store
from cogs.translator import CatalogTranslator, user_messages

log = logging.getLogger(__name__)

# Loaded in this order in setup_hook; listed, never discovered.
EXTENSIONS: tuple[str, ...] = ("cogs.about", "cogs.animate", "cogs.history", "cogs.admin")
PURGE_EVERY_SECONDS = 24 * 60 * 60
# Discord allows 50 requests/s per bot token; interaction and webhook routes are exempt.
# Paced where Discord counts them, on the wire, with room for the burst.
BOT_REQUESTS_PER_SECOND = 40.0
BOT_REQUESTS_BURST = 5
EXEMPT_ROUTES = ("/interactions/", "/webhooks/")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds after the signal. A command already sending its job is interrupted only at
# the first (cut off, its job may exist and cost, untracked); interrupted commands have
# unwound and their authors are told by the second; closing takes about 1 s more, inside
# the 10 s Docker waits before SIGKILL.
SENDING_DEADLINE_SECONDS = 6.0
TELL_DEADLINE_SECONDS = 8.0


def _route_kind(path: str) -> str | None:
    """`bot_token` (counted by Discord's global limit), `interaction`, or None (not REST)."""
    if "/api/" not in path:
        return None
    return "interaction" if any(route in path for route in EXEMPT_ROUTES) else "bot_token"


def _posts_a_message(method: str, path: str) -> bool:
    """A new message (a video, a reply the author waits for), not an edit or a reaction."""
    return method == "POST" and path.endswith("/messages")


def paced_bot_token_requests(
    budget: RateBudget, metrics: Metrics | None = None
) -> aiohttp.TraceConfig:
    """An aiohttp trace that holds each bot-token REST request until the budget allows it.

    Pacing here rather than before each call: discord.py queues requests per route
    bucket, and a queue that drains at once would send a burst the budget never saw.
    It also counts every REST request and every 429 for the metrics, on the wire,
    so discord.py's own retries are counted too. New messages (deliveries) go in the
    budget's urgent lane: at 1,000 jobs the ❌ reactions taken back as renders start
    share the 40/s with the videos being posted, and must not delay them.
    """

    async def on_request_start(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if _route_kind(params.url.path) == "bot_token":
            await budget.acquire(urgent=_posts_a_message(params.method, params.url.path))

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


# Catalog key of the last resort's apology, in the user's own language (it is ephemeral).
SORRY = "error.sorry"


class AnimateTree(app_commands.CommandTree["AnimateBot"]):
    """Every command passes here first (refused while stopping) and, on errors, last."""

    async def interaction_check(self, interaction: discord.Interaction[AnimateBot], /) -> bool:
        return await self.client.admit(interaction)

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
        sorry = user_messages(interaction)(SORRY)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(sorry, ephemeral=True)
            else:
                await interaction.response.send_message(sorry, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not tell user %s that /%s failed", interaction.user.id, command)


class AnimateBot(commands.AutoShardedBot):
    def __init__(self, services: Services, **options: Any) -> None:
        # The bot never joins voice: two warnings at every start would only hide real ones.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
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
        # Set by a stop signal: no new command starts, the ones under way get a grace.
        self.stopping = False
        self._under_way: dict[asyncio.Task[Any], discord.Interaction[Any]] = {}

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
        # Everything built so far lives as long as the process: move it out of the
        # collector's generations so 1,000 live jobs' churn does not rescan it.
        gc.freeze()

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

    async def admit(self, interaction: discord.Interaction[Any]) -> bool:
        """May this interaction start work? Refused kindly while stopping.

        Admitted ones are remembered with their task, so a stop can wait for them or,
        past its grace, interrupt them and tell their authors that nothing was sent.
        Used by the command tree and by every button that starts a job.
        """
        if self.stopping:
            if interaction.type is not discord.InteractionType.autocomplete:
                with contextlib.suppress(discord.HTTPException):
                    await interaction.response.send_message(
                        user_messages(interaction)("bot.restarting"), ephemeral=True
                    )
            return False
        task = asyncio.current_task()
        if task is not None and task not in self._under_way:
            self._under_way[task] = interaction
            task.add_done_callback(self._under_way.pop)
        return True

    async def stop_gracefully(self, reason: str) -> None:
        """Refuse new commands, give those under way a grace, then close; within 10 s."""
        self.stopping = True
        grace = self.settings.shutdown_grace_seconds
        under_way = {t: i for t, i in self._under_way.items() if t is not asyncio.current_task()}
        log.warning(
            "%s: stopping; %d commands under way get up to %.1f s", reason, len(under_way), grace
        )
        if under_way:
            loop = asyncio.get_running_loop()
            began = loop.time()

            def left(deadline: float) -> float:
                return max(0.0, deadline - (loop.time() - began))

            _done, late = await asyncio.wait(under_way, timeout=grace)
            sending = {t for t in late if self.jobs.is_sending(t)}
            self._interrupt(late - sending)
            if sending:
                _done, still = await asyncio.wait(sending, timeout=left(SENDING_DEADLINE_SECONDS))
                self._interrupt(still)
            if late:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left(TELL_DEADLINE_SECONDS)):
                        await asyncio.wait(late)
                        await asyncio.gather(*(self._tell_interrupted(under_way[t]) for t in late))
        await self.close()

    def _interrupt(self, tasks: set[asyncio.Task[Any]]) -> None:
        if tasks:
            log.warning("Interrupting %d commands that did not finish in time", len(tasks))
        for task in tasks:
            task.cancel()

    async def _tell_interrupted(self, interaction: discord.Interaction[Any]) -> None:
        """Never leave a "thinking…" placeholder behind: swap it for "nothing was sent".

        A command interrupted after its status message replaced the placeholder owns
        a job row, which says the rest: cut off mid-submit it ended "lost" (its author
        told); a row never sent is ended "lost" at the next start.
        """
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    user_messages(interaction)("bot.restarted_nothing_sent"), ephemeral=True
                )
                return
            original = await interaction.original_response()
            if not original.flags.loading:
                return
            await interaction.delete_original_response()
            await interaction.followup.send(
                user_messages(interaction)("bot.restarted_nothing_sent"), ephemeral=True
            )
        except discord.HTTPException as exc:
            log.info(
                "Could not tell user %s the command was interrupted (%s)", interaction.user.id, exc
            )

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
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.Forbidden:
                # A typo or a server that removed the bot must not keep the others waiting.
                log.error(
                    "Cannot sync commands to guild %d from DISCORD_GUILD_IDS: the bot is not "
                    "in it, or was invited without the applications.commands scope",
                    guild_id,
                )
                continue
            log.info("Synced %d commands to guild %d", len(synced), guild_id)

    async def on_ready(self) -> None:
        log.info("Ready as %s in %d guilds", self.user, len(self.guilds))


@contextlib.asynccontextmanager
async def assemble(settings: Settings, **bot_options: Any) -> AsyncIterator[AnimateBot]:
    """Open every resource the bot needs and close them all afterwards.

    `bot_options` go to discord.py's client (tests shorten `guild_ready_timeout`).
    """
    runcomfy_http = make_http_client(
        settings.runcomfy_base_url,
        settings.runcomfy_api_token,
        settings.http_timeout_seconds,
        connections=settings.runcomfy_connections,
    )
    async with runcomfy_http, await open_store(settings) as store:
        metrics = Metrics()
        runcomfy = RunComfyClient(
            runcomfy_http,
            model_id=settings.runcomfy_model_id,
            requests_per_second=settings.runcomfy_requests_per_second,
            metrics=metrics,
            max_in_flight=settings.runcomfy_connections,
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


class DiscordUnreachable(Exception):
    """Logging in failed before Discord answered (DNS, refused or reset connection)."""


@contextlib.asynccontextmanager
async def stop_on_signals(bot: AnimateBot) -> AsyncIterator[None]:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) stop the bot gracefully.

    Real handlers, not Python's defaults: as PID 1 in a container the kernel drops
    every signal that has none. A second signal while stopping is logged and ignored:
    the stop is bounded (8 s, then closing) and must not end in a traceback.
    """
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def on_signal(sig: signal.Signals) -> None:
        if stopping:
            log.warning("Received %s again while stopping; ignored, exiting shortly", sig.name)
            return
        stopping.append(
            loop.create_task(bot.stop_gracefully(f"Received {sig.name}"), name="graceful-stop")
        )

    for sig in STOP_SIGNALS:
        # Not on Windows event loops: there Ctrl-C stays Python's KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        # Handlers stay until the loop closes: a late signal is ignored, not fatal.
        if stopping:
            await stopping[0]


async def run(settings: Settings, **bot_options: Any) -> None:
    async with assemble(settings, **bot_options) as bot, stop_on_signals(bot):
        try:
            await bot.login(settings.discord_token.get_secret_value())
        except aiohttp.ClientConnectionError as exc:
            raise DiscordUnreachable(str(exc)) from None
        if not bot.stopping:  # a signal during the login already closed the bot
            await bot.connect()


def main(**bot_options: Any) -> int:
    """Run the bot until it is stopped; the process exit code.

    Every failure to start is one or two log lines naming the cause, never a traceback.
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings, **bot_options))
    except StoreUnavailable as exc:
        log.error(
            "The bot cannot start: invalid DATABASE_PATH %s: %s. Point DATABASE_PATH at a "
            "file in a folder the bot can write.",
            exc.path,
            exc.reason,
        )
        return 2
    except discord.LoginFailure:
        log.error(
            "The bot cannot start: Discord refused DISCORD_TOKEN. Check it in the developer "
            "portal (Bot, Reset Token)."
        )
        return 1
    except DiscordUnreachable as exc:
        log.error(
            "The bot cannot start: Discord cannot be reached (%s). Check the network and DNS.",
            exc,
        )
        return 1
    except KeyboardInterrupt:
        pass  # Ctrl-C before the stop handlers were installed: nothing to finish
    return 0
