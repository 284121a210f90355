"""Starting a job, written once: /animate, its menu, Again, Remix, Higher, Extend and
/history's "Animate again" all go through `Starter`.

Before the defer, only checks without I/O but the local database (`checks.py`), well
inside Discord's 3 s. After it (`launch`): the image read and checked (`sources.py`),
one at a time per user; then the row, the public status message, the submit and the ❌
(`publishing.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.admission import Admission
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import Job
from bot.images import ImageRejected, PreparedImage
from bot.images.bounds import ImageBounds
from bot.images.turns import ImageTurns
from bot.jobs import JobService
from bot.models.registry import Models
from bot.pricing import Pricing
from cogs.animate.checks import Order, StartChecks
from cogs.animate.places import fail, remember_visibility
from cogs.animate.publishing import Publisher
from cogs.animate.sources import (
    ImageSource,
    ImageUnreadable,
    attachment_source,
    hosted_image,
)
from cogs.animate.status import StatusBoard
from cogs.common.contracts import Admit
from cogs.common.translator import user_messages

# Catalog keys.
RESULT_GONE = "result.gone"


class Starter:
    def __init__(
        self,
        bot: discord.Client,
        *,
        settings: Settings,
        jobs: JobService,
        admission: Admission,
        models: Models,
        pricing: Pricing,
        arrivals: Arrivals,
        board: StatusBoard,
        admit: Admit,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.jobs = jobs
        self.arrivals = arrivals
        self.checks = StartChecks(
            jobs=jobs, admission=admission, models=models, pricing=pricing, admit=admit
        )
        self.publisher = Publisher(
            jobs=jobs, admission=admission, arrivals=arrivals, board=board, settings=settings
        )
        self.turns = ImageTurns()

    async def defer(
        self, interaction: discord.Interaction[Any], *, private: bool | None = None
    ) -> None:
        """The answer a new job starts with, well inside 3 s: "thinking", public unless
        `private` (None: the author's own default). A server that denies external apps
        makes it private anyway; the job says so."""
        if private is None:
            private = (await self.jobs.user_settings(interaction.user.id)).private
        answer = await interaction.response.defer(thinking=True, ephemeral=private)
        remember_visibility(interaction, private, answer)

    # -- after the defer -----------------------------------------------------

    async def start(
        self,
        interaction: discord.Interaction[Any],
        image: discord.Attachment,
        prompt: str,
        order: Order,
    ) -> bool:
        """A new job on an attachment, after the public defer; True when it started."""
        source = self._attachment(image, interaction.user.id)
        return await self.launch(interaction, prompt, order, source)

    async def animate_again(
        self,
        interaction: discord.Interaction[Any],
        source: Job,
        *,
        prompt: str | None = None,
        order: Order | None = None,
        accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Run a past job again on the image its status message hosts.

        Its model, prompt and options unless others are given (Remix, Higher
        resolution); a new job of whoever asked, under their quotas. False when refused
        (nothing started). `accepted` runs right after the defer (a button greys itself).
        """
        order = order or await self.checks.same_order(interaction, source)
        if order is None or not await self.checks.may_start(interaction, order):
            return False
        await self.defer(interaction)
        if accepted is not None:
            await accepted()
        image = await hosted_image(self.bot, source)
        if image is None:
            await fail(interaction, user_messages(interaction)(RESULT_GONE))
            return True
        hosted = self._attachment(image, interaction.user.id)

        async def read_if_still_shown(bounds: ImageBounds) -> tuple[PreparedImage, bytes]:
            read_image = await hosted.read(bounds)
            # Its author may have cleared it from their history meanwhile: copy nothing.
            if source.id is not None and await self.jobs.get_shown(source.id) is None:
                raise ImageUnreadable(RESULT_GONE)
            return read_image

        source_image = ImageSource(read_if_still_shown, image.url)
        await self.launch(interaction, prompt or source.prompt, order, source_image)
        return True

    async def launch(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        order: Order,
        image: ImageSource,
        *,
        extends_job_id: int | None = None,
    ) -> bool:
        """After the public defer: check the real image, write the row, start the job.

        True when a job was started (its status message is up).
        """
        t = user_messages(interaction)
        # In a burst, the others' submits wait until this one's status message is up.
        with self.arrivals.arriving_command(interaction.id):
            try:
                async with self.turns.reading(interaction.user.id):
                    prepared, original = await image.read(order.model.bounds)
            except ImageRejected as exc:
                await fail(interaction, exc.text(t))
                return False
            except ImageUnreadable as exc:
                await fail(interaction, t(exc.key))
                return False
            posted = await self.publisher.publish(
                interaction, prompt, order, image.url, prepared, original, extends_job_id
            )
            # Only URLs from here on: in a burst the submit may wait (bot/arrivals.py), and
            # a thousand images must not wait in memory with it.
            del prepared, original
            status_message = await self.publisher.submit(posted) if posted is not None else None
            return await self.publisher.add_cancel_reaction(posted, status_message)

    def _attachment(self, image: discord.Attachment, user_id: int) -> ImageSource:
        return attachment_source(
            image, user_id=user_id, download_seconds=self.settings.http_timeout_seconds
        )
