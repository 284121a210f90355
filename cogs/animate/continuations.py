"""Going on from a delivered video: Extend (a new job from its last frame) and Join.

Both buttons are restart-safe (`buttons.py`); the cog binds their presses here.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot.config import Settings
from bot.domain import Job
from bot.images import PreparedImage, prepare_image
from bot.images.bounds import ImageBounds
from bot.jobs import JobService
from bot.models.registry import Models
from bot.video import VideoUnreadable, concat, last_frame_png
from cogs.animate.buttons import JOIN, Press, higher_on, presses_on, result_view
from cogs.animate.rendering import public_messages
from cogs.animate.replies import megabytes
from cogs.animate.starter import ImageSource, ImageUnreadable, Starter
from cogs.common.translator import user_messages

log = logging.getLogger(__name__)

# Catalog keys of the Extend and Join answers (bot/locales/*/LC_MESSAGES/messages.po).
JOIN_GONE = "join.gone"
JOIN_AUTHOR_ONLY = "join.author_only"
JOIN_FAILED = "join.failed"
JOIN_MISMATCH = "join.mismatch"
EXTEND_GONE = "extend.gone"
ALREADY_EXTENDED = "extend.already"
EXTEND_NO_FRAME = "extend.no_frame"


class Continuations:
    def __init__(
        self,
        bot: discord.Client,
        starter: Starter,
        *,
        settings: Settings,
        jobs: JobService,
        models: Models,
    ) -> None:
        self.bot = bot
        self.starter = starter
        self.settings = settings
        self.jobs = jobs
        self.models = models

    # -- Extend ------------------------------------------------------------

    async def extend(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """A new job from the last frame of a delivered video, same prompt and options."""
        job_id = press.job_id
        source = await self.jobs.get_shown(job_id)
        video = delivered_video(interaction.message, job_id)
        if source is None or video is None:
            await interaction.response.send_message(
                user_messages(interaction)(EXTEND_GONE), ephemeral=True
            )
            return
        order = await self.starter.same_order(interaction, source)
        if order is None or not await self.starter.may_start(interaction, order):
            return
        # The button is disabled below, but a second press can already be on its way.
        if not await self.jobs.claim_extend(job_id):
            await interaction.response.send_message(
                user_messages(interaction)(ALREADY_EXTENDED), ephemeral=True
            )
            return
        await interaction.response.defer(thinking=True)
        await self._show_extend_button(interaction.message, source, disabled=True)
        started = False
        try:
            frame = ImageSource(partial(self._last_frame, source, video), url="")
            started = await self.starter.launch(
                interaction, source.prompt, order, frame, extends_job_id=source.id
            )
        finally:
            if not started:
                await self.jobs.release_extend(job_id)
                await self._show_extend_button(interaction.message, source, disabled=False)

    async def _last_frame(
        self, source: Job, video: discord.Attachment, bounds: ImageBounds
    ) -> tuple[PreparedImage, bytes]:
        """The video's last frame, checked like any input, as bytes the bot will host."""
        try:
            with tempfile.TemporaryDirectory(prefix="extend-") as tmp:
                path = Path(tmp) / "video.mp4"
                async with asyncio.timeout(self.settings.http_timeout_seconds):
                    await video.save(path)
                png = await asyncio.to_thread(last_frame_png, path)
        except (VideoUnreadable, discord.HTTPException, aiohttp.ClientError, TimeoutError):
            log.warning("Job %s: no last frame from the delivered video", source.id)
            raise ImageUnreadable(EXTEND_NO_FRAME) from None
        name = f"extend-{source.id}.png"
        prepared = await asyncio.to_thread(prepare_image, png, filename=name, bounds=bounds)
        # Not fitted, it still has no public URL: the status message must host it.
        prepared = prepared if prepared.data is not None else replace(prepared, data=png)
        return prepared, png

    async def _show_extend_button(
        self, message: discord.Message | None, source: Job, *, disabled: bool
    ) -> None:
        if message is None:
            return
        shown = presses_on(message)
        joinable = source.id is not None and Press(JOIN, source.id) in shown
        higher = higher_on(shown)
        try:
            await message.edit(
                view=result_view(source, higher=higher, extend_disabled=disabled, joinable=joinable)
            )
        except discord.HTTPException:
            log.info("Job %s: could not update the Extend button", source.id)

    # -- Join --------------------------------------------------------------

    async def join(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """Deliver an extension and the clip it continues as one video (the author only)."""
        job_id = press.job_id
        job = await self.jobs.get(job_id)
        source = await self.jobs.get(job.extends_job_id) if job and job.extends_job_id else None
        second = delivered_video(interaction.message, job_id)
        if job is None or source is None or second is None:
            await interaction.response.send_message(
                user_messages(interaction)(JOIN_GONE), ephemeral=True
            )
            return
        if interaction.user.id != job.user_id:
            await interaction.response.send_message(
                user_messages(interaction)(JOIN_AUTHOR_ONLY), ephemeral=True
            )
            return
        await interaction.response.defer(thinking=True)
        first = await self._video_of(source)
        if first is None:
            await self.starter.fail(interaction, user_messages(interaction)(JOIN_GONE))
            return
        with tempfile.TemporaryDirectory(prefix="join-") as tmp:
            a, b, joined = Path(tmp) / "a.mp4", Path(tmp) / "b.mp4", Path(tmp) / "joined.mp4"
            try:
                async with asyncio.timeout(self.settings.http_timeout_seconds):
                    await first.save(a)
                    await second.save(b)
                matched = await asyncio.to_thread(concat, a, b, joined)
            except (VideoUnreadable, discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Job %d: could not join with job %d", job_id, source.id)
                await self.starter.fail(interaction, user_messages(interaction)(JOIN_FAILED))
                return
            if not matched:
                await self.starter.fail(interaction, user_messages(interaction)(JOIN_MISMATCH))
                return
            if joined.stat().st_size > interaction.filesize_limit:
                t = user_messages(interaction)
                limit = megabytes(interaction.filesize_limit, t)
                await self.starter.fail(interaction, t("join.too_large", limit=limit))
                return
            # No ping: the author just pressed the button and is looking.
            await interaction.edit_original_response(
                content=public_messages(job)("join.done", first=source.id, second=job.id),
                attachments=[discord.File(joined, filename=f"joined-{source.id}-{job_id}.mp4")],
            )

    async def _video_of(self, job: Job) -> discord.Attachment | None:
        """The video the bot uploaded for `job`, from its delivered message."""
        if job.delivered_channel_id is None or job.delivered_message_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.delivered_channel_id)
        try:
            message = await channel.fetch_message(job.delivered_message_id)
        except discord.HTTPException:
            return None
        assert job.id is not None
        return delivered_video(message, job.id)


def delivered_video(message: discord.Message | None, job_id: int) -> discord.Attachment | None:
    """The video the bot uploaded for `job_id` on the message whose Extend was pressed."""
    if message is None:
        return None
    name = f"animate-{job_id}.mp4"
    return next((a for a in message.attachments if a.filename == name), None)
