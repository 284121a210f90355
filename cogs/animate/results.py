"""The buttons under a delivered video (Again, Remix, Higher resolution) and the
"Animate" entry of a message's context menu: each starts one new job of whoever asked.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.domain import Job
from bot.jobs import JobService
from bot.models import resolutions
from bot.models.registry import Models
from cogs.animate.buttons import (
    EXTEND,
    HIGHER,
    JOIN,
    Press,
    higher_on,
    presses_on,
    result_view,
    spoiler_on,
)
from cogs.animate.checks import Order
from cogs.animate.places import settings_guild
from cogs.animate.remix import PromptModal, shown_prompt
from cogs.animate.starter import Starter
from cogs.common.presses import PressLedger
from cogs.common.translator import user_messages

log = logging.getLogger(__name__)


class ResultButtons:
    def __init__(self, starter: Starter, jobs: JobService, models: Models) -> None:
        self.starter = starter
        self.checks = starter.checks
        self.jobs = jobs
        self.models = models
        # (user, job, button) presses being handled: a double press starts one job;
        # released once the job has started, since each press may start a job of its own.
        self._pressing = PressLedger()

    # -- the buttons under a delivered video --------------------------------

    async def again(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """Again (or Higher resolution): one new job per press, for whoever pressed."""
        resolution = press.arg if press.action == HIGHER else None
        key = (interaction.user.id, press.job_id, resolution or "again")
        if not self._pressing.claim(key):
            await interaction.response.send_message(
                user_messages(interaction)("result.busy"), ephemeral=True
            )
            return
        try:
            source = await self.jobs.get_shown(press.job_id)
            if source is None:
                await interaction.response.send_message(
                    user_messages(interaction)("result.gone"), ephemeral=True
                )
                return
            order = await self._order(interaction, source, resolution)
            if order is None:
                return

            async def hold() -> None:
                await self.show_pressed(interaction, source, pressed=True)

            await self.starter.animate_again(interaction, source, order=order, accepted=hold)
        finally:
            self._pressing.release(key)
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await self.show_pressed(interaction, source, pressed=False)

    async def _order(
        self, interaction: discord.Interaction[Any], source: Job, resolution: str | None
    ) -> Order | None:
        """The source's model and options again, at `resolution` if given (its model's
        option, or a sibling model made for it); None once refused privately."""
        if resolution is None:
            return await self.checks.same_order(interaction, source)
        model = self.models.get(source.model_id)
        rendition = None
        if model is not None:
            rendition = resolutions.at(model, source.options, resolution, self.models.available())
        if rendition is None:
            t = user_messages(interaction)
            # A model still offered but no longer at that resolution (nor a sibling for it).
            text = (
                t("result.model_gone")
                if model is None
                else t("result.resolution_gone", resolution=resolution)
            )
            await interaction.response.send_message(text, ephemeral=True)
            return None
        return await self.checks.order(
            interaction,
            rendition.model,
            {},
            prompt=source.prompt,
            kept=True,
            base=rendition.options,
        )

    async def show_pressed(
        self, interaction: discord.Interaction[Any], source: Job, *, pressed: bool
    ) -> None:
        """Grey the pressed button out while its job starts, then offer it again.

        Others may press it too (each for a job of their own), so it comes back.
        """
        message = interaction.message
        if message is None or source.id is None:
            return
        # The same buttons as delivered: Extend keeps its state, Join stays if it was
        # there, the spoiler's says what the video is now.
        shown = presses_on(message)
        view = result_view(
            source,
            higher=higher_on(shown),
            extendable=Press(EXTEND, source.id) in shown,
            extend_disabled=source.extended_at is not None,
            joinable=Press(JOIN, source.id) in shown,
            spoiler=spoiler_on(shown),
        )
        if view is None:
            return
        if pressed:
            pressed_id = interaction.data.get("custom_id") if interaction.data else None
            for child in view.children:
                if isinstance(child, discord.ui.DynamicItem) and child.custom_id == pressed_id:
                    child.item.disabled = True
        try:
            await message.edit(view=view)
        except discord.HTTPException as exc:
            log.debug("Job %s: could not update the video's buttons (%s)", source.id, exc)

    async def remix(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """A modal prefilled with the prompt and options; its answer starts one job.

        Someone else's prompt only as far as the video's message shows it.
        """
        t = user_messages(interaction)
        source = await self.jobs.get_shown(press.job_id)
        if source is None:
            await interaction.response.send_message(t("result.gone"), ephemeral=True)
            return
        # The form shows every value it starts from: one the model no longer takes is
        # replaced there in plain sight, to be changed before sending.
        order = await self.checks.same_order(interaction, source, exact=False)
        if order is None or not await self.checks.may_start(interaction, order):
            return
        model = order.model
        source_id = press.job_id

        async def remixed(
            modal_interaction: discord.Interaction[Any], prompt: str, picked: dict[str, object]
        ) -> None:
            # The form may come back minutes later, after its author cleared their history.
            still = await self.jobs.get_shown(source_id)
            if still is None:
                await modal_interaction.response.send_message(
                    user_messages(modal_interaction)("result.gone"), ephemeral=True
                )
                return
            remix = await self.checks.order(
                modal_interaction, model, picked, prompt=prompt, base=order.options
            )
            if remix is not None:
                await self.starter.animate_again(
                    modal_interaction, still, prompt=prompt, order=remix
                )

        mine = interaction.user.id == source.user_id
        modal = PromptModal(
            title=t("remix.title"),
            t=t,
            model=model,
            options=order.options,
            prompt=source.prompt if mine else shown_prompt(source.prompt),
            on_done=remixed,
        )
        await interaction.response.send_modal(modal)

    # -- the "Animate" entry of a message's context menu ---------------------

    async def animate_message(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        t = user_messages(interaction)
        image = first_image(message)
        if image is None:
            await interaction.response.send_message(t("menu.no_image"), ephemeral=True)
            return
        # On a job's status message (it hosts the job's picture), the job's model and
        # options, where this server offers that model; else the default model's.
        source = await self.jobs.by_status_message(message.id)
        here = await self.checks.admission.offered(settings_guild(interaction))
        if source is not None and not any(m.model_id == source.model_id for m in here):
            source = None
        wanted = source.model_id if source is not None else None
        choice = await self.checks.choose_model(interaction, wanted)
        if choice is None:
            return
        model = choice.model
        base = source.options if source is not None else None
        if not await self.checks.precheck_image(interaction, image, model):
            return
        order = await self.checks.order(interaction, model, {}, prompt=None, base=base)
        if order is None or not await self.checks.may_start(interaction, order):
            return

        async def asked(
            modal_interaction: discord.Interaction[Any], prompt: str, picked: dict[str, object]
        ) -> None:
            # The form may be sent long after: checked again, with what was chosen.
            chosen = await self.checks.order(
                modal_interaction, model, picked, prompt=prompt, base=base
            )
            if chosen is None or not await self.checks.may_start(modal_interaction, chosen):
                return
            await self.starter.defer(modal_interaction)
            await self.starter.start(modal_interaction, image, prompt, chosen)

        modal = PromptModal(
            title=t("menu.title"),
            t=t,
            model=model,
            options=order.options,
            prompt="",
            on_done=asked,
        )
        await interaction.response.send_modal(modal)


def first_image(message: discord.Message) -> discord.Attachment | None:
    """The first attachment that says it is an image (by type, else by its size facts)."""
    for attachment in message.attachments:
        content_type = attachment.content_type or ""
        if content_type.startswith("image/") or (not content_type and attachment.width is not None):
            return attachment
    return None
