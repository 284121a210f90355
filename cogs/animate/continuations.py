"""Going on from a delivered video: Extend (a new job from its last frame) and Join.

Both buttons are restart-safe (`buttons.py`); the cog binds their presses here.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import discord

from bot.config import Settings
from bot.domain import Job
from bot.downloads import DownloadError
from bot.images import PreparedImage, prepare_within_budget
from bot.images.bounds import ImageBounds
from bot.jobs import JobService
from bot.models.registry import Models
from bot.video import VideoUnreadable, concat, last_frame_png
from cogs.animate.buttons import (
    EXTEND,
    JOIN,
    Press,
    higher_on,
    presses_on,
    result_view,
    spoiler_on,
)
from cogs.animate.places import fail
from cogs.animate.rendering import delivered_video, public_messages
from cogs.animate.replies import megabytes
from cogs.animate.sources import ImageSource, ImageUnreadable
from cogs.animate.starter import Starter
from cogs.common.presses import PressLedger
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
JOIN_BUSY = "join.busy"
JOINED_BEFORE = "join.already"
# The joined posts this process remembers, so a later press points at the post.
REMEMBERED_JOINS = 1000


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
        # Two clips to fetch and one upload: each about an HTTP timeout.
        self.join_deadline = 3 * settings.http_timeout_seconds
        self._joining = PressLedger()  # extensions being joined now
        self._joined: OrderedDict[int, JoinedPost] = OrderedDict()

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
        order = await self.starter.checks.same_order(interaction, source)
        if order is None or not await self.starter.checks.may_start(interaction, order):
            return
        # The button is disabled below, but a second press can already be on its way.
        if not await self.jobs.claim_extend(job_id):
            await interaction.response.send_message(
                user_messages(interaction)(ALREADY_EXTENDED), ephemeral=True
            )
            return
        started = False
        try:
            await self.starter.defer(interaction)
            frame = ImageSource(partial(self._last_frame, source, video), url="")
            started = await self.starter.launch(
                interaction, source.prompt, order, frame, extends_job_id=source.id
            )
        finally:
            # Once started, the job service gives the claim back if the extension ends
            # uncharged (and `job_ended` shows the button again).
            if not started:
                await self.jobs.release_extend(job_id)
        # Greyed once the extension exists: greyed before, a crash meanwhile left a
        # video that was never extended showing "Extended" for good.
        if started:
            await self._show_extend_button(interaction.message, source, disabled=True)

    async def job_ended(self, job: Job) -> None:
        """An extension ended: if its video may be extended again, offer Extend again."""
        if job.extends_job_id is None:
            return
        source = await self.jobs.get_shown(job.extends_job_id)
        if source is None or source.extended_at is not None:
            return
        message = await self._delivered_message(source)
        if message is not None and Press(EXTEND, job.extends_job_id) in presses_on(message):
            await self._show_extend_button(message, source, disabled=False)

    async def _last_frame(
        self, source: Job, video: discord.Attachment, bounds: ImageBounds
    ) -> tuple[PreparedImage, bytes]:
        """The video's last frame, checked like any input, as bytes the bot will host."""
        try:
            with tempfile.TemporaryDirectory(prefix="extend-", dir=self.jobs.scratch()) as tmp:
                path = Path(tmp) / "video.mp4"
                async with asyncio.timeout(self.settings.http_timeout_seconds):
                    await self._fetch(video, path)
                png = await asyncio.to_thread(last_frame_png, path)
        except (VideoUnreadable, DownloadError, discord.HTTPException, TimeoutError):
            log.warning("Job %s: no last frame from the delivered video", source.id)
            raise ImageUnreadable(EXTEND_NO_FRAME) from None
        name = f"extend-{source.id}.png"
        # Decoded once the process's memory for decoding has room, as every input is.
        prepared = await prepare_within_budget(png, filename=name, bounds=bounds)
        # Not fitted, it still has no public URL: the status message must host it.
        prepared = prepared if prepared.data is not None else replace(prepared, data=png)
        # Its author may have cleared it from their history meanwhile: copy nothing then.
        assert source.id is not None
        if await self.jobs.get_shown(source.id) is None:
            raise ImageUnreadable(EXTEND_GONE)
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
                view=result_view(
                    source,
                    higher=higher,
                    extend_disabled=disabled,
                    joinable=joinable,
                    spoiler=spoiler_on(shown),
                )
            )
        except discord.HTTPException:
            log.info("Job %s: could not update the Extend button", source.id)

    # -- Join --------------------------------------------------------------

    async def join(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """Deliver an extension and the clip it continues as one video (the author only).

        One join at a time per video, within a deadline; once posted, a later press
        points at it rather than posting it again.
        """
        if not await self.starter.checks.admit(interaction):  # a stop lets it finish its post
            return
        job_id = press.job_id
        t = user_messages(interaction)
        job = await self.jobs.get(job_id)
        source = await self.jobs.get(job.extends_job_id) if job and job.extends_job_id else None
        second = delivered_video(interaction.message, job_id)
        if job is None or source is None or second is None:
            await interaction.response.send_message(t(JOIN_GONE), ephemeral=True)
            return
        if interaction.user.id != job.user_id:
            await interaction.response.send_message(t(JOIN_AUTHOR_ONLY), ephemeral=True)
            return
        if not self._joining.claim(job_id):
            await interaction.response.send_message(t(JOIN_BUSY), ephemeral=True)
            return
        try:
            earlier = await self._joined_before(job_id)
            if earlier is not None:
                await interaction.response.send_message(
                    t(JOINED_BEFORE, link=earlier), ephemeral=True
                )
                return
            await interaction.response.defer(thinking=True)
            try:
                async with asyncio.timeout(self.join_deadline):
                    problem = await self._join(interaction, job, source, second)
            except TimeoutError:
                log.warning("Job %d: joining with job %s took too long", job_id, source.id)
                problem = t(JOIN_FAILED)
            if problem is not None:
                await fail(interaction, problem)
        finally:
            self._joining.release(job_id)

    async def _join(
        self,
        interaction: discord.Interaction[Any],
        job: Job,
        source: Job,
        second: discord.Attachment,
    ) -> str | None:
        """Fetch both clips, join and post them; None when posted, else what the author reads."""
        assert job.id is not None and source.id is not None
        t = user_messages(interaction)
        first = await self._video_of(source)
        if first is None:
            return t(JOIN_GONE)
        with tempfile.TemporaryDirectory(prefix="join-", dir=self.jobs.scratch()) as tmp:
            a, b, joined = Path(tmp) / "a.mp4", Path(tmp) / "b.mp4", Path(tmp) / "joined.mp4"
            try:
                await self._fetch(first, a)
                await self._fetch(second, b)
                matched = await asyncio.to_thread(concat, a, b, joined)
            except (VideoUnreadable, DownloadError, discord.HTTPException):
                log.warning("Job %d: could not join with job %d", job.id, source.id)
                return t(JOIN_FAILED)
            if not matched:
                return t(JOIN_MISMATCH)
            if joined.stat().st_size > interaction.filesize_limit:
                return t("join.too_large", limit=megabytes(interaction.filesize_limit, t))
            # No ping: the author just pressed the button and is looking.
            posted = await interaction.edit_original_response(
                content=public_messages(job)("join.done", first=source.id, second=job.id),
                attachments=[discord.File(joined, filename=f"joined-{source.id}-{job.id}.mp4")],
            )
        self._joined[job.id] = JoinedPost(posted.channel.id, posted.id, posted.jump_url)
        while len(self._joined) > REMEMBERED_JOINS:
            self._joined.popitem(last=False)
        return None

    async def _fetch(self, video: discord.Attachment, path: Path) -> None:
        """A posted video, streamed to `path`: read whole (Attachment.save), five
        presses of Extend on 60 MB videos took 310 MB more."""
        await self.jobs.fetch_posted(video.url, path, max_bytes=max(video.size, 1))

    async def _joined_before(self, job_id: int) -> str | None:
        """The link to this process's joined post of `job_id`, if it is still there."""
        post = self._joined.get(job_id)
        if post is None:
            return None
        channel = self.bot.get_partial_messageable(post.channel_id)
        try:
            await channel.fetch_message(post.message_id)
        except discord.NotFound:
            del self._joined[job_id]  # deleted: the author may join them again
            return None
        except discord.HTTPException:
            return None
        return post.link

    async def _delivered_message(self, job: Job) -> discord.Message | None:
        """The message the bot posted `job`'s video in."""
        if job.delivered_channel_id is None or job.delivered_message_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.delivered_channel_id)
        try:
            return await channel.fetch_message(job.delivered_message_id)
        except discord.HTTPException:
            return None

    async def _video_of(self, job: Job) -> discord.Attachment | None:
        """The video the bot uploaded for `job`, from its delivered message."""
        assert job.id is not None
        return delivered_video(await self._delivered_message(job), job.id)


@dataclass(frozen=True)
class JoinedPost:
    channel_id: int
    message_id: int
    link: str
