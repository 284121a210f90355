"""Before a new job's defer: every check it passes, with no I/O but the local database,
well inside Discord's 3 s. A refusal is answered privately; nothing is stored or sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord

from bot.admission import Admission, AdmissionRefused, ModelChoice
from bot.domain import Job, Options
from bot.images import ImageRejected, precheck_metadata
from bot.jobs import JobService
from bot.models.model import TOO_LONG, TOO_SHORT, VideoModel
from bot.models.options import OptionRefused
from bot.models.registry import Models
from bot.pricing import Pricing
from bot.quotas import QuotaExceeded
from cogs.animate.model_options import refusal_text
from cogs.animate.places import may_post_here, settings_guild
from cogs.animate.replies import refusal_message, start_refusal
from cogs.common.contracts import Admit
from cogs.common.translator import user_messages

# Catalog keys.
NOT_HERE = "start.no_send"
MODEL_GONE = "result.model_gone"
# A past job's prompt the model no longer takes: Remix lets its author change it.
KEPT_PROMPT = {TOO_LONG: "result.prompt_too_long", TOO_SHORT: "result.prompt_too_short"}


@dataclass(frozen=True)
class Order:
    """What a new job makes: its model, the model's options, and what it should cost."""

    model: VideoModel
    options: Options
    estimate_usd: float | None


class StartChecks:
    def __init__(
        self,
        *,
        jobs: JobService,
        admission: Admission,
        models: Models,
        pricing: Pricing,
        admit: Admit,
    ) -> None:
        self.jobs = jobs
        self.admission = admission
        self.models = models
        self.pricing = pricing
        self.admit = admit

    async def choose_model(
        self, interaction: discord.Interaction[Any], wanted: str | None
    ) -> ModelChoice | None:
        """The model asked for (else this server's default); None once refused privately."""
        try:
            return await self.admission.choose_model(settings_guild(interaction), wanted)
        except AdmissionRefused as exc:
            await _refuse(interaction, refusal_message(exc, user_messages(interaction)))
            return None

    async def order(
        self,
        interaction: discord.Interaction[Any],
        model: VideoModel,
        picked: Mapping[str, object],
        *,
        prompt: str | None,
        kept: bool = False,
        base: Options | None = None,
    ) -> Order | None:
        """The model's options with what was picked, and the estimate; None once a value
        the model does not take, or a `prompt` outside its length bounds, was refused
        privately with what it takes. `kept`: the prompt is a past job's (Again)."""
        # As the model is now: a form open for minutes may have seen an older schema.
        current = self.models.get(model.model_id)
        if current is None:
            await _refuse(interaction, user_messages(interaction)(MODEL_GONE))
            return None
        model = current
        refusal = model.prompt_refusal(prompt) if prompt is not None else None
        if refusal is not None:
            t = user_messages(interaction)
            text = t(KEPT_PROMPT[refusal.key], **refusal.values) if kept else refusal.text(t)
            await _refuse(interaction, text)
            return None
        try:
            options = model.choose(picked, base=base)
        except OptionRefused as exc:
            await _refuse(interaction, refusal_text(exc, model, user_messages(interaction)))
            return None
        return Order(model, options, await self.pricing.estimate(model, options))

    async def same_order(
        self, interaction: discord.Interaction[Any], source: Job, *, exact: bool = True
    ) -> Order | None:
        """A past job's model, prompt and options again; None once refused (the model is
        gone, or, when `exact`, it no longer takes the job's prompt or one of its values:
        never another silently). Not `exact` (a form): the form shows what to change."""
        model = self.models.get(source.model_id)
        if model is None:
            await _refuse(interaction, user_messages(interaction)(MODEL_GONE))
            return None
        for spec in model.options if exact else ():
            value = source.options.get(spec.field)
            try:
                if value is not None:
                    spec.accept(value)
            except OptionRefused as exc:
                await _refuse(interaction, refusal_text(exc, model, user_messages(interaction)))
                return None
        prompt = source.prompt if exact else None
        return await self.order(
            interaction, model, {}, prompt=prompt, kept=True, base=source.options
        )

    async def may_start(self, interaction: discord.Interaction[Any], order: Order) -> bool:
        """Every check a new job passes before its defer; a refusal is answered privately.

        Stopping (buttons and forms bypass the command tree's check), the admins' and
        operator's switches, then the quotas. Nothing is stored or sent when refused.
        """
        if not await self.admit(interaction):
            return False
        t = user_messages(interaction)
        if not may_post_here(interaction):
            await _refuse(interaction, t(NOT_HERE))
            return False
        try:
            await self.admission.check(
                user_id=interaction.user.id,
                guild_id=settings_guild(interaction),
                channel_id=interaction.channel_id,
                model_id=order.model.model_id,
                estimate_usd=order.estimate_usd,
            )
            await self.jobs.check_quota(interaction.user.id)
        except (QuotaExceeded, AdmissionRefused) as exc:
            await _refuse(interaction, start_refusal(exc, t))
            return False
        return True

    async def precheck_image(
        self, interaction: discord.Interaction[Any], image: discord.Attachment, model: VideoModel
    ) -> bool:
        """The attachment's declared facts (no download) against the model's bounds;
        False once the author was told."""
        try:
            precheck_metadata(
                filename=image.filename,
                content_type=image.content_type,
                size=image.size,
                width=image.width,
                height=image.height,
                bounds=model.bounds,
            )
        except ImageRejected as exc:
            await _refuse(interaction, exc.text(user_messages(interaction)))
            return False
        return True


async def _refuse(interaction: discord.Interaction[Any], text: str) -> None:
    """Before the defer: a private answer, and nothing stored or sent."""
    await interaction.response.send_message(text, ephemeral=True)
