"""The bot itself: the command tree, start-up, and a graceful stop.

The only Discord client of the project; every service it holds was built by
`app.assemble`, and it builds each cog with exactly what that cog uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from app.command_sync import ScopeSync, scopes, sync_commands
from app.pacing import BOT_REQUESTS_BURST, BOT_REQUESTS_PER_SECOND, paced_bot_token_requests
from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.guild_settings import GuildAdmin
from bot.history import HistoryService
from bot.jobs import JobService
from bot.metrics import Metrics
from bot.models.registry import Models
from bot.pricing import Pricing
from bot.ratelimit import RateBudget
from bot.store import JobStore
from cogs.about import About
from cogs.admin import Admin
from cogs.animate import Animate
from cogs.common.presses import answered_elsewhere
from cogs.common.translator import CatalogTranslator, user_messages
from cogs.history import History

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 24 * 60 * 60
# Seconds after the signal. A command already sending its job is interrupted only at
# the first (cut off, its job may exist and cost, untracked); interrupted commands have
# unwound and their authors are told by the second; closing takes about 1 s more, inside
# the 10 s Docker waits before SIGKILL.
SENDING_DEADLINE_SECONDS = 6.0
TELL_DEADLINE_SECONDS = 8.0


@dataclass(frozen=True)
class Services:
    """What the cogs may use; built once by `assemble`."""

    settings: Settings
    store: JobStore
    jobs: JobService
    # The operator's models as RunComfy describes them, and what their videos cost.
    models: Models
    pricing: Pricing
    admission: Admission
    guild_admin: GuildAdmin
    metrics: Metrics
    # Commands on their way to a status message, which background work lets through.
    arrivals: Arrivals


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
        if answered_elsewhere(error):
            log.info("Command /%s was answered by another process on this shard", command)
            return
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
    def __init__(self, services: Services, *, commands_only: bool = False, **options: Any) -> None:
        """`commands_only`: build the command tree and nothing else (`python -m bot sync`)."""
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
        self.commands_only = commands_only
        self._purger: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        # Set by a stop signal: no new command starts, the ones under way get a grace.
        self.stopping = False
        self._under_way: dict[asyncio.Task[Any], discord.Interaction[Any]] = {}

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def jobs(self) -> JobService:
        return self.services.jobs

    def build_cogs(self) -> list[commands.Cog]:
        """Every cog, built with what it uses, in the order they are added; never discovered."""
        services = self.services
        animate = Animate(
            self,
            settings=services.settings,
            jobs=services.jobs,
            admission=services.admission,
            arrivals=services.arrivals,
            models=services.models,
            pricing=services.pricing,
            admit=self.admit,
        )
        return [
            About(),
            animate,
            History(HistoryService(services.store), again=animate.starter),
            Admin(services.settings, services.guild_admin, services.models),
        ]

    async def setup_hook(self) -> None:
        # Before any sync: the synced payload carries the commands' localized texts.
        await self.tree.set_translator(CatalogTranslator())
        for cog in self.build_cogs():
            await self.add_cog(cog)
        if self.commands_only:
            return
        await self.sync_commands()
        # Read at start (`assemble`); from now on, again at every refresh.
        await self.services.models.set_alert(self.alert_operator)
        self._refresher = asyncio.create_task(self.services.models.run(), name="refresh-models")
        # The cogs observe the jobs now, so unfinished ones can be picked up again.
        await self.jobs.resume()
        if self.settings.history_retention_days is not None:
            self._purger = asyncio.create_task(self._purge_daily(), name="purge-history")
        # Everything built so far lives as long as the process: move it out of the
        # collector's generations so 1,000 live jobs' churn does not rescan it.
        gc.freeze()

    async def alert_operator(self, text: str) -> None:
        """Post an operator alert to ADMIN_CHANNEL_ID, if set (the log has it anyway)."""
        channel_id = self.settings.admin_channel_id
        if channel_id is not None:
            # The start and the model refresh wait on it: a long 429 there must not hold them.
            async with asyncio.timeout(self.settings.http_timeout_seconds):
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
        await self.jobs.end_unsent()
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
        told); a row never sent ends unsent (`JobService.end_unsent`).
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
        background = [task for task in (self._purger, self._refresher) if task is not None]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        # Stop trackers before the cogs go: rows stay and resume at the next start.
        await self.jobs.close()
        await super().close()

    async def sync_commands(self, *, force: bool = False) -> list[ScopeSync]:
        """Sync the scopes whose commands changed since their last sync (all if `force`)."""
        return await sync_commands(
            self.tree, self.services.store, scopes(self.settings), force=force
        )

    async def on_ready(self) -> None:
        log.info("Ready as %s in %d guilds", self.user, len(self.guilds))
