"""/animate, its buttons' handlers, and the ❌ reaction (`Cancelling`).

This cog parses interactions and hands new jobs to its `Starter`; it is also the
`JobService`'s `JobObserver`, the only way the service reaches Discord, delegating
the status message to `StatusBoard` and posting to `Courier`. The composition root
builds it with exactly what it uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.jobs import Delivery, JobService, LinkReason, ProgressNote
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from cogs.animate import buttons
from cogs.animate.buttons import AGAIN, CANCEL, EXTEND, HIGHER, JOIN, REMIX, Handler
from cogs.animate.cancelling import Cancelling
from cogs.animate.continuations import Continuations
from cogs.animate.delivery import Courier
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
        self.cancelling = Cancelling(bot, jobs=jobs, courier=self.courier)
        self.results = ResultButtons(self.starter, jobs)
        self.continuations = Continuations(bot, self.starter, settings=settings, jobs=jobs)
        # What each button does (how it looks: `buttons.ACTIONS`).
        self.handlers: dict[str, Handler] = {
            CANCEL: self.cancelling.from_button,
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
        await self.continuations.job_ended(job)

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

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.cancelling.from_reaction(payload)
