"""The composition root: builds every service and hands it to the bot.

This is the only module of `bot/` that imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
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
from bot.store import JobStore, StoreUnavailable
from cogs.rendering import RESTARTED_NOTHING_SENT, RESTARTING

log = logging.getLogger(__name__)

# Loaded in this order in setup_hook; listed, never discovered.
EXTENSIONS: tuple[str, ...] = ("cogs.about", "cogs.animate", "cogs.history")
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
        try:
            if interaction.response.is_done():
                await interaction.followup.send(SORRY, ephemeral=True)
            else:
                await interaction.response.send_message(SORRY, ephemeral=True)
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
                RateBudget(BOT_REQUESTS_PER_SECOND, burst=BOT_REQUESTS_BURST)
            ),
            **options,
        )
        self.services = services
        self._purger: asyncio.Task[None] | None = None
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
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()
        # The cogs observe the jobs now, so unfinished ones can be picked up again.
        await self.jobs.resume()
        if self.settings.history_retention_days is not None:
            self._purger = asyncio.create_task(self._purge_daily(), name="purge-history")

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
                    await interaction.response.send_message(RESTARTING, ephemeral=True)
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
                await interaction.response.send_message(RESTARTED_NOTHING_SENT, ephemeral=True)
                return
            original = await interaction.original_response()
            if not original.flags.loading:
                return
            await interaction.delete_original_response()
            await interaction.followup.send(RESTARTED_NOTHING_SENT, ephemeral=True)
        except discord.HTTPException as exc:
            log.info(
                "Could not tell user %s the command was interrupted (%s)", interaction.user.id, exc
            )

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
