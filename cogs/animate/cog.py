"""/animate, its buttons' handlers, and the ❌ reaction (`Cancelling`).

This cog parses interactions and hands new jobs to its `Starter`; it is also the
`JobService`'s `JobObserver`, the only way the service reaches Discord, delegating
the status message to `StatusBoard` and posting to `Courier`. The composition root
builds it with exactly what it uses.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.admission import Admission, AdmissionRefused
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import Job
from bot.jobs import Delivery, JobService, LinkReason, ProgressNote
from bot.models.registry import Models
from bot.pricing import Pricing
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from cogs.animate import buttons
from cogs.animate.buttons import (
    AGAIN,
    CANCEL,
    EXTEND,
    HIGHER,
    JOIN,
    REMIX,
    SHARE,
    SPOILER,
    UNSPOILER,
    Handler,
)
from cogs.animate.cancelling import Cancelling
from cogs.animate.continuations import Continuations
from cogs.animate.delivery import Courier
from cogs.animate.model_options import animate_command, option_slots, suggestions
from cogs.animate.places import ANYWHERE, EVERY_INSTALL, follow_up, settings_guild
from cogs.animate.preferences import settings_command
from cogs.animate.results import ResultButtons
from cogs.animate.sharing import Sharing
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
        models: Models,
        pricing: Pricing,
        arrivals: Arrivals,
        admit: Admit,
    ) -> None:
        self.bot = bot
        self.jobs = jobs
        self.admission = admission
        self.pricing = pricing
        self.board = StatusBoard(bot, settings=settings, jobs=jobs, arrivals=arrivals)
        self.courier = Courier(
            bot, self.board, settings=settings, jobs=jobs, models=models, admission=admission
        )
        self.starter = Starter(
            bot,
            settings=settings,
            jobs=jobs,
            admission=admission,
            models=models,
            pricing=pricing,
            arrivals=arrivals,
            board=self.board,
            admit=admit,
        )
        self.cancelling = Cancelling(bot, jobs=jobs, courier=self.courier)
        self.results = ResultButtons(self.starter, jobs, models)
        self.continuations = Continuations(
            bot, self.starter, settings=settings, jobs=jobs, models=models
        )
        self.sharing = Sharing(
            jobs, settings=settings, admit=admit, server_language=admission.server_language
        )
        # /animate's options are the models' (read at start): built, not written here.
        available = models.available()
        # One model: its prompt limit is Discord's too (counted as they type); with several
        # the option is shared, and the model's own is checked once one is chosen.
        only = available[0].prompt_max if len(available) == 1 else None
        self.command = animate_command(
            option_slots(available),
            prompt_chars=only or MAX_PROMPT_CHARS,
            with_model=len(available) > 1,
            handler=self.animate,
            suggest=self.suggest,
            # Wherever its user is: a server, the bot's DM, a group DM (a user install).
            allowed_installs=EVERY_INSTALL,
            allowed_contexts=ANYWHERE,
        )
        self.settings_command = settings_command(jobs)
        # What each button does (how it looks: `buttons.ACTIONS`).
        self.handlers: dict[str, Handler] = {
            CANCEL: self.cancelling.from_button,
            AGAIN: self.results.again,
            HIGHER: self.results.again,
            REMIX: self.results.remix,
            EXTEND: self.continuations.extend,
            JOIN: self.continuations.join,
            SHARE: self.sharing.share,
            SPOILER: self.sharing.spoiler,
            UNSPOILER: self.sharing.spoiler,
        }
        self.menu = app_commands.ContextMenu(
            name=command_text("animate.menu.name"),
            callback=self.results.animate_message,
            allowed_installs=EVERY_INSTALL,
            allowed_contexts=ANYWHERE,
        )

    async def cog_load(self) -> None:
        buttons.bind(self.bot, self.handlers)
        self.bot.tree.add_command(self.command)
        self.bot.tree.add_command(self.settings_command)
        self.bot.tree.add_command(self.menu)
        self.jobs.observer = self

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.command.name)
        self.bot.tree.remove_command(self.settings_command.name)
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        buttons.unbind(self.bot)
        self.jobs.observer = None
        await self.board.close()

    # -- /animate ----------------------------------------------------------

    async def animate(self, interaction: discord.Interaction[Any], values: dict[str, Any]) -> None:
        """/animate: every option by name; the model's own checked against its schema."""
        image: discord.Attachment = values.pop("image")
        prompt: str = values.pop("prompt")
        wanted: str | None = values.pop("model", None)
        private: bool | None = values.pop("private", None)  # None: the author's default
        # Cheap checks first: no I/O but the local database, well inside 3 s.
        try:
            cleaned = clean_prompt(prompt)
        except PromptRejected as exc:
            t = user_messages(interaction)  # every refusal here is ephemeral
            await interaction.response.send_message(exc.text(t), ephemeral=True)
            return
        checks = self.starter.checks
        choice = await checks.choose_model(interaction, wanted)
        if choice is None:
            return
        order = await checks.order(interaction, choice.model, values, prompt=cleaned)
        if order is None or not await checks.precheck_image(interaction, image, order.model):
            return
        if not await checks.may_start(interaction, order):
            return
        await self.starter.defer(interaction, private=private)
        if choice.replaced_default is not None:
            note = user_messages(interaction)(
                "animate.model.replaced", old=choice.replaced_default, new=order.model.name
            )
            await follow_up(interaction, note, ephemeral=True)
        await self.starter.start(interaction, image, cleaned, order)

    async def suggest(
        self, interaction: discord.Interaction[Any], name: str, typed: str
    ) -> list[app_commands.Choice[Any]]:
        """What the chosen model takes for option `name` (the `model` typed so far, else
        this server's default); for `model`, the models offered here with their price."""
        t = user_messages(interaction)
        if name == "model":
            choices = []
            for model in await self.admission.offered(settings_guild(interaction)):
                quote = await self.pricing.quote(model)
                label = model.name
                if quote is not None:
                    label = t("animate.model.choice", model=model.name, price=t.money(quote))
                if typed.lower() in label.lower() or typed.lower() in model.model_id.lower():
                    choices.append(app_commands.Choice(name=label[:100], value=model.model_id))
            return choices[:25]
        wanted = getattr(interaction.namespace, "model", None)
        try:
            choice = await self.admission.choose_model(settings_guild(interaction), wanted)
        except AdmissionRefused:
            return []
        option = choice.model.option(name)
        return [] if option is None else suggestions(option, typed, t)

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
