"""A checked image becomes a job: its row, its public status message, the one submit,
then its ❌. After the defer; a refusal replaces "thinking" with a private error.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot.admission import Admission, AdmissionRefused
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.failures import HOSTED_TOO_LARGE_ERROR, STATUS_FAILED_ERROR
from bot.images import PreparedImage
from bot.images.hosting import input_copy
from bot.jobs import JobService
from bot.quotas import QuotaExceeded
from cogs.animate.buttons import cancel_view
from cogs.animate.checks import Order
from cogs.animate.places import fail, reach_of, settings_guild, visibility_of
from cogs.animate.rendering import CANCEL_EMOJI, CANCELLABLE
from cogs.animate.replies import (
    STATUS_NOT_POSTED,
    resized_too_large,
    start_refusal,
)
from cogs.animate.status import StatusBoard
from cogs.common.translator import public_locale, user_messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    """A job whose status message is up, ready to be sent to RunComfy."""

    job_id: int
    message: discord.Message
    image_url: str  # what RunComfy fetches: the hosted copy, else the source's URL
    hosted_url: str | None
    reacts: bool  # its status message takes the ❌ (public, where the bot hears reactions)


class Publisher:
    def __init__(
        self,
        *,
        jobs: JobService,
        admission: Admission,
        arrivals: Arrivals,
        board: StatusBoard,
        settings: Settings,
    ) -> None:
        self.jobs = jobs
        self.admission = admission
        self.arrivals = arrivals
        self.board = board
        self.settings = settings

    async def publish(
        self,
        interaction: discord.Interaction[Any],
        prompt: str,
        order: Order,
        source_url: str,
        prepared: PreparedImage,
        original: bytes,
        extends_job_id: int | None,
    ) -> Posted | None:
        """Write the row and publish its status message; None when the author was told why not.

        The image is attached to the status message when it fits the upload limit:
        it is the embed's thumbnail, "Animate again" can fetch it later, and a fitted
        image needs that public URL for RunComfy anyway.
        """
        t = user_messages(interaction)
        server = settings_guild(interaction)
        # A private render's status and video are its author's alone: their language.
        if visibility_of(interaction).private:
            locale = str(interaction.locale)
        else:
            locale = public_locale(interaction, await self.admission.server_language(server))
        try:
            job = await self.jobs.create(
                extends_job_id=extends_job_id,
                locale=locale,
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                prompt=prompt,
                model=order.model,
                options=order.options,
                estimate_usd=order.estimate_usd,
                image=prepared.facts,
                reach=reach_of(interaction),
                visibility=visibility_of(interaction),
                upload_limit=interaction.filesize_limit,
            )
        except (QuotaExceeded, AdmissionRefused) as exc:
            await fail(interaction, start_refusal(exc, t))
            return None
        assert job.id is not None
        copy = input_copy(job.id, prepared, original, upload_limit=interaction.filesize_limit)
        if copy.missing:
            await self.jobs.abandon(job.id, HOSTED_TOO_LARGE_ERROR)
            await fail(interaction, resized_too_large(interaction.filesize_limit, t))
            return None
        files = (
            []
            if copy.data is None
            else [discord.File(io.BytesIO(copy.data), filename=copy.filename)]
        )
        # The embed names the attachment it shows; the URL is known once it is posted.
        shown = job.model_copy(update={"image_url": copy.filename if files else None})
        embed = await self.board.embed(shown)
        try:
            # Bounded: discord.py sleeps out any 429's retry_after, an hour if Discord says so.
            async with asyncio.timeout(self._deadline(files)):
                message = await interaction.edit_original_response(
                    embed=embed, attachments=files, view=cancel_view(job)
                )
        except (discord.HTTPException, TimeoutError) as exc:
            log.warning("Job %d: status message failed (%s)", job.id, exc)
            await self.jobs.abandon(job.id, STATUS_FAILED_ERROR)
            await fail(interaction, t(STATUS_NOT_POSTED))
            return None
        self.board.remember(job.id, interaction)
        self.arrivals.arrived(interaction.id)  # its submit waits for the others' messages
        hosted_url = next((a.url for a in message.attachments if a.filename == copy.filename), None)
        image_url = copy.fetched_from(hosted_url, source_url)
        return Posted(job.id, message, image_url, hosted_url, reacts=job.channel_reachable)

    def _deadline(self, files: list[discord.File]) -> float:
        """How long the status message may take: with the image, as long as a video."""
        s = self.settings
        return s.video_download_timeout_seconds if files else s.http_timeout_seconds

    async def submit(self, posted: Posted) -> discord.Message | None:
        """Submit once; the status message while the job lives."""
        # Its ❌ is added after the submit (`add_cancel_reaction`), and the job may be
        # rendering by then: until it is there, no status edit takes it back.
        self.board.reacting(posted.job_id, posted.reacts)
        try:
            submitted = await self.jobs.submit(
                posted.job_id,
                image_url=posted.image_url,
                status_message_id=posted.message.id,
                hosted_url=posted.hosted_url,
            )
        except BaseException:
            self.board.reacting(posted.job_id, False)
            raise
        return None if submitted.status.is_final else posted.message

    async def add_cancel_reaction(
        self, posted: Posted | None, status_message: discord.Message | None
    ) -> bool:
        """True when a job was started (its status message is there)."""
        try:
            if status_message is None:
                return False
            if posted is not None and not posted.reacts:
                return True  # its Cancel button is all it has (no reaction events there)
            try:
                await status_message.add_reaction(CANCEL_EMOJI)
            except discord.HTTPException:
                log.debug("Cannot add the cancel reaction to message %d", status_message.id)
                return True
        finally:
            if posted is not None:
                self.board.reacting(posted.job_id, False)
        # A fast job may have started rendering meanwhile, and its status edit left
        # the ❌ that was not there yet: look again now that it is.
        job = await self.jobs.by_status_message(status_message.id)
        if job is not None and job.status not in CANCELLABLE:
            await self.board.remove_own_reaction(job)
        return True
