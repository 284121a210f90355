"""A video after it is out: Post to channel (a private one, by its author, once) and the
spoiler (a public one, by its author or a moderator, either way).

Both answer on the press's own interaction, so they work where the bot has nothing
else (its user install in a server that never added it, a group DM). Neither renders
or costs anything: the file is the one already posted.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot import i18n
from bot.config import Settings
from bot.domain import Job
from bot.downloads import DownloadError
from bot.jobs import JobService
from cogs.animate.buttons import SHARE, SPOILER, UNSPOILER, Press, same_buttons, single_view
from cogs.animate.places import follow_up, may_post_here, settings_guild
from cogs.animate.rendering import (
    delivered_video,
    public_messages,
    shared_message,
    video_filename,
)
from cogs.common.contracts import Admit
from cogs.common.presses import PressLedger
from cogs.common.translator import public_locale, user_messages

log = logging.getLogger(__name__)

# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po).
SHARE_GONE = "share.gone"
SHARE_CLEARED = "share.cleared"
SHARE_AUTHOR_ONLY = "share.author_only"
SHARE_NO_SEND = "share.no_send"
SHARE_ALREADY = "share.already"
SHARE_FAILED = "share.failed"
SPOILER_GONE = "spoiler.gone"
SPOILER_NOT_ALLOWED = "spoiler.not_allowed"
SPOILER_FAILED = "spoiler.failed"
SPOILER_BUSY = "spoiler.busy"
# What fetching a posted file again may fail with (it is then not posted again).
FETCH_FAILED = (DownloadError, OSError, discord.HTTPException, aiohttp.ClientError, TimeoutError)


class Sharing:
    def __init__(
        self,
        jobs: JobService,
        *,
        settings: Settings,
        admit: Admit,
        server_language: Callable[[int | None], Awaitable[str | None]],
    ) -> None:
        self.jobs = jobs
        self.server_language = server_language
        # A stop lets an admitted press finish its post; while stopping, none starts.
        self.admit = admit
        # Fetching the posted file again and uploading it: each about an HTTP timeout.
        self.deadline = 2 * settings.http_timeout_seconds
        # Videos whose spoiler is being changed: one upload at a time per video.
        self._changing = PressLedger()

    # -- Post to channel -----------------------------------------------------

    async def share(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """The private video, posted publicly where it was made: once, by its author,
        where they may post, with the prompt and a credit that pings nobody."""
        if not await self.admit(interaction):
            return
        t = user_messages(interaction)
        job = await self.jobs.get_shown(press.job_id)
        video = delivered_video(interaction.message, press.job_id)
        if job is None or job.id is None:
            # Cleared from its author's history (or purged): "/history has it" would be false.
            await _answer(interaction, t(SHARE_CLEARED))
            return
        if video is None:
            await _answer(interaction, t(SHARE_GONE))
            return
        if interaction.user.id != job.user_id:
            await _answer(interaction, t(SHARE_AUTHOR_ONLY))
            return
        if not may_post_here(interaction):
            await _answer(interaction, t(SHARE_NO_SEND))
            return
        # The button greys out below, but a second press may already be on its way.
        if not await self.jobs.claim_share(job.id):
            await _answer(interaction, t(SHARE_ALREADY))
            return
        posted = False
        try:
            await interaction.response.edit_message(
                view=single_view(Press(SHARE, job.id), public_messages(job), disabled=True)
            )
            posted = await self._post(interaction, job, video)
        finally:
            if not posted:
                await self.jobs.release_share(job.id)
        if not posted:
            try:
                await interaction.edit_original_response(
                    view=single_view(Press(SHARE, job.id), public_messages(job))
                )
                await follow_up(interaction, t(SHARE_FAILED), ephemeral=True)
            except discord.HTTPException as exc:
                log.info("Job %d: could not say the post failed (%s)", job.id, exc)

    async def _post(
        self, interaction: discord.Interaction[Any], job: Job, video: discord.Attachment
    ) -> bool:
        assert job.id is not None
        shown = await self._channel_messages(interaction, job)
        try:
            with tempfile.TemporaryDirectory(prefix="share-", dir=self.jobs.scratch()) as folder:
                async with asyncio.timeout(self.deadline):
                    path = await self._fetch(video, Path(folder))
                    message = await follow_up(
                        interaction,
                        shared_message(job, f"<@{job.user_id}>", shown),
                        file=discord.File(path, filename=video_filename(job.id)),
                        allowed_mentions=discord.AllowedMentions.none(),  # a credit, not a ping
                        view=single_view(Press(SPOILER, job.id), shown),
                    )
        except FETCH_FAILED as exc:
            log.warning("Job %d: posting the private video failed (%r)", job.id, exc)
            return False
        return message is not None

    async def _channel_messages(
        self, interaction: discord.Interaction[Any], job: Job
    ) -> i18n.Messages:
        """The language of a job's video in the channel: a public job's own; a private
        one's, once posted, the server's (as if its author had made it public)."""
        if not job.visibility.private:
            return public_messages(job)
        language = await self.server_language(settings_guild(interaction))
        return i18n.for_locale(public_locale(interaction, language, member_locale=job.locale))

    async def _fetch(self, video: discord.Attachment, folder: Path) -> Path:
        """The posted file, streamed to `folder`: a video is up to Discord's upload limit,
        and holding it in memory per press let one person's presses take gigabytes."""
        path = folder / "video.mp4"
        await self.jobs.fetch_posted(video.url, path, max_bytes=max(video.size, 1))
        return path

    # -- spoiler -------------------------------------------------------------

    async def spoiler(self, interaction: discord.Interaction[Any], press: Press) -> None:
        """Hide the video as a spoiler (Spoiler) or show it again (Unspoiler): the same
        file, uploaded again so marked, since discord.py 2.7 can set an attachment's
        spoiler only on a new upload (`Attachment.to_file(spoiler=…)`)."""
        if not await self.admit(interaction):
            return
        t = user_messages(interaction)
        job = await self.jobs.get(press.job_id)
        message = interaction.message
        video = delivered_video(message, press.job_id)
        if job is None or job.id is None or message is None or video is None:
            await _answer(interaction, t(SPOILER_GONE))
            return
        moderator = interaction.guild_id is not None and interaction.permissions.manage_messages
        if interaction.user.id != job.user_id and not moderator:
            await _answer(interaction, t(SPOILER_NOT_ALLOWED))
            return
        if not self._changing.claim(job.id):
            await _answer(interaction, t(SPOILER_BUSY))
            return
        try:
            await self._change_spoiler(interaction, press, job, message, video)
        finally:
            self._changing.release(job.id)

    async def _change_spoiler(
        self,
        interaction: discord.Interaction[Any],
        press: Press,
        job: Job,
        message: discord.Message,
        video: discord.Attachment,
    ) -> None:
        assert job.id is not None
        hide = press.action == SPOILER
        await interaction.response.defer()  # the video's message is updated, nothing sent
        toggled = Press(UNSPOILER if hide else SPOILER, job.id)
        view = same_buttons(
            message, await self._channel_messages(interaction, job), swap=(press, toggled)
        )
        try:
            with tempfile.TemporaryDirectory(prefix="spoiler-", dir=self.jobs.scratch()) as folder:
                async with asyncio.timeout(self.deadline):
                    path = await self._fetch(video, Path(folder))
                    file = discord.File(path, filename=video_filename(job.id), spoiler=hide)
                    await interaction.edit_original_response(attachments=[file], view=view)
        except FETCH_FAILED as exc:
            log.warning("Job %d: could not change the spoiler (%r)", job.id, exc)
            try:
                await follow_up(
                    interaction, user_messages(interaction)(SPOILER_FAILED), ephemeral=True
                )
            except discord.HTTPException:
                log.info("Job %d: could not say the spoiler failed", job.id)


async def _answer(interaction: discord.Interaction[Any], text: str) -> None:
    """A refusal only the person who pressed sees."""
    await interaction.response.send_message(text, ephemeral=True)
