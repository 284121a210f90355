"""/animate and cancelling by ❌ or button.

This cog parses interactions and hands new jobs to its `Starter`; it is also the
`JobService`'s `JobObserver`, the only way the service reaches Discord, delegating
the status message to `StatusBoard` and posting to `Courier`. The composition root
builds it with exactly what it uses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.jobs import CancelOutcome, Delivery, JobService, LinkReason, ProgressNote
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from cogs.animate import buttons
from cogs.animate.buttons import AGAIN, CANCEL, EXTEND, HIGHER, JOIN, REMIX, Handler, Press
from cogs.animate.continuations import Continuations
from cogs.animate.delivery import Courier, reply_to
from cogs.animate.rendering import CANCEL_EMOJI, public_messages
from cogs.animate.replies import cancel_reply
from cogs.animate.results import ResultButtons
from cogs.animate.starter import Starter
from cogs.animate.status import StatusBoard
from cogs.common.contracts import Admit, AnyBot
from cogs.common.translator import command_text, user_messages

log = logging.getLogger(__name__)


class Animate(commands.Cog):
    def __init__(
        self,
        bot: AnyBot,
        *,
        settings: Settings,
        jobs: JobService,
        admission: Admission,
        arrivals: Arrivals,
        price: Callable[[int], float | None],
        admit: Admit,
    ) -> None:
        self.bot = bot
        self.jobs = jobs
        self.board = StatusBoard(bot, settings=settings, jobs=jobs, arrivals=arrivals, price=price)
        self.courier = Courier(bot, self.board, settings=settings, jobs=jobs)
        self.starter = Starter(
            bot,
            settings=settings,
            jobs=jobs,
            admission=admission,
            arrivals=arrivals,
            board=self.board,
            admit=admit,
        )
        self.results = ResultButtons(self.starter, jobs)
        self.continuations = Continuations(bot, self.starter, settings=settings, jobs=jobs)
        # What each button does (how it looks: `buttons.ACTIONS`).
        self.handlers: dict[str, Handler] = {
            CANCEL: self.cancel_from_button,
            AGAIN: self.results.again,
            HIGHER: self.results.again,
            REMIX: self.results.remix,
            EXTEND: self.continuations.extend,
            JOIN: self.continuations.join,
        }
        self.menu = app_commands.ContextMenu(
            name=command_text("animate.menu.name"), callback=self.results.animate_message
        )

    async def cog_load(self) -> None:
        buttons.bind(self.bot, self.handlers)
        self.bot.tree.add_command(self.menu)
        self.jobs.observer = self

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        buttons.unbind(self.bot)
        self.jobs.observer = None
        await self.board.close()

    # -- /animate ----------------------------------------------------------

    @app_commands.command(name="animate", description=command_text("animate.command.description"))
    @app_commands.describe(
        image=command_text("animate.option.image"),
        prompt=command_text("animate.option.prompt"),
        resolution=command_text("animate.option.resolution"),
        ratio=command_text("animate.option.ratio"),
        duration=command_text("animate.option.duration", min=MIN_DURATION, max=MAX_DURATION),
        audio=command_text("animate.option.audio"),
        camera_fixed=command_text("animate.option.camera_fixed"),
    )
    async def animate(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        resolution: Resolution = "480p",
        ratio: Ratio = "adaptive",
        duration: app_commands.Range[int, MIN_DURATION, MAX_DURATION] = 5,
        audio: bool = True,
        camera_fixed: bool = True,
    ) -> None:
        # Cheap checks first: no I/O but the local database, well inside 3 s.
        try:
            cleaned = clean_prompt(prompt)
        except PromptRejected as exc:
            t = user_messages(interaction)  # every refusal here is ephemeral
            await interaction.response.send_message(exc.text(t), ephemeral=True)
            return
        if not await self.starter.precheck_image(interaction, image):
            return
        if not await self.starter.may_start(interaction, duration):
            return
        await interaction.response.defer(thinking=True)
        options = JobOptions(
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            generate_audio=audio,
            camera_fixed=camera_fixed,
        )
        await self.starter.start(interaction, image, cleaned, options)

    # -- JobObserver: the service reaches Discord only through these -------

    async def job_updated(self, job: Job) -> None:
        await self.board.show(job)

    async def job_ended(self, job: Job) -> None:
        await self.courier.job_ended(job)

    async def job_progress(self, job: Job, note: ProgressNote) -> None:
        await self.board.progress(job, note)

    def upload_limit(self, job: Job) -> int:
        return self.board.upload_limit(job)

    async def deliver(
        self, job: Job, video: Path | None, *, why: LinkReason | None = None
    ) -> Delivery | None:
        return await self.courier.deliver(job, video, why=why)

    async def alert_operator(self, text: str) -> None:
        await self.courier.alert_operator(text)

    # -- cancel ------------------------------------------------------------

    async def cancel_from_button(self, interaction: discord.Interaction[Any], press: Press) -> None:
        is_moderator = interaction.permissions.manage_messages
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self._cancel(press.job_id, interaction.user.id, is_moderator)
        await interaction.followup.send(
            cancel_reply(outcome, user_messages(interaction)), ephemeral=True
        )

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.bot.user
        if str(payload.emoji) != CANCEL_EMOJI or (me is not None and payload.user_id == me.id):
            return
        job = await self.jobs.by_status_message(payload.message_id)
        if job is None or job.id is None:
            return
        outcome = await self._cancel(job.id, payload.user_id, self._is_moderator(payload))
        if outcome is CancelOutcome.NOT_ALLOWED:
            await self._remove_reaction(payload)
        elif outcome is None or outcome in ANSWERED_REACTIONS:
            # A reaction carries no locale (in DMs neither has the channel): the job's own.
            await self._answer_reaction(payload, cancel_reply(outcome, public_messages(job)))

    def _is_moderator(self, payload: discord.RawReactionActionEvent) -> bool:
        """Manage Messages in that channel (DMs have no moderators)."""
        member = payload.member
        if member is None:
            return False
        channel = self.bot.get_channel(payload.channel_id)
        if isinstance(channel, discord.abc.GuildChannel):
            return channel.permissions_for(member).manage_messages
        return member.guild_permissions.manage_messages

    async def _answer_reaction(self, payload: discord.RawReactionActionEvent, text: str) -> None:
        """Reply to the reacted message, pinging only the person who reacted."""
        pings = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(payload.user_id)]
        )
        channel = self.bot.get_partial_messageable(payload.channel_id)
        reference = reply_to(payload.channel_id, payload.message_id)
        try:
            await channel.send(
                f"<@{payload.user_id}> {text}", allowed_mentions=pings, reference=reference
            )
        except discord.HTTPException:
            log.info("Could not answer a reaction on message %d", payload.message_id)

    async def _cancel(self, job_id: int, user_id: int, is_moderator: bool) -> CancelOutcome | None:
        """The service's outcome; None when it failed unexpectedly (a bug, logged)."""
        job = await self.jobs.get(job_id)
        by_author = job is not None and job.user_id == user_id
        if by_author:
            # Their own cancel: they get their answer (or see the ❌ work), no public ping.
            self.courier.cancelled_by_author.add(job_id)
        try:
            return await self.jobs.cancel(job_id, actor_id=user_id, actor_is_moderator=is_moderator)
        except Exception:
            log.exception("Cancel of job %d failed", job_id)
            return None
        finally:
            if by_author:
                self.courier.cancelled_by_author.discard(job_id)

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        message = self.bot.get_partial_messageable(payload.channel_id).get_partial_message(
            payload.message_id
        )
        # Without Manage Messages the reaction stays; it is ignored anyway.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(payload.emoji, discord.Object(payload.user_id))


# Outcomes a ❌ reaction gets a reply for (the others show on the status message),
# besides an unexpected failure.
ANSWERED_REACTIONS = frozenset(
    {CancelOutcome.RENDERING, CancelOutcome.UNREACHABLE, CancelOutcome.ALREADY_CANCELLED}
)
