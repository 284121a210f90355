"""/animate, cancelling by ❌ or button, and the Discord side of every job.

This cog parses interactions, calls `JobService` and renders; it is also the
service's `JobObserver`, the only way the service reaches Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.coalesce import Coalescer
from bot.jobs import CancelOutcome, Delivery, JobService, QuotaExceeded
from bot.models import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from bot.validation import ImageRejected, PreparedImage, precheck_metadata, prepare_image
from cogs.rendering import (
    CANCEL_EMOJI,
    describe_options,
    ended_message,
    hosted_filename,
    quota_message,
    size_mb,
    status_embed,
)

if TYPE_CHECKING:
    from bot.app import AnimateBot

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# Discord's interaction tokens live 15 minutes; stop using them a little before.
WEBHOOK_EXPIRED = 50027
UPLOAD_TOO_LARGE = 40005
# Jobs past their defer download, check and submit a few at a time: a burst of
# commands then cannot queue the next commands' 3 s acknowledgements behind its work.
PREPARING_AT_ONCE = 8


@dataclass
class _Session:
    """What only the live process knows about a job: its interaction."""

    interaction: discord.Interaction
    started: float  # monotonic

    def fresh(self, ttl: float) -> bool:
        return time.monotonic() - self.started < ttl


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:cancel:(?P<job_id>\d+)"
):
    """A Cancel button that keeps working after a restart (the job id is in its custom_id)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                style=discord.ButtonStyle.danger,
                custom_id=f"animate:cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> CancelButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Animate")  # type: ignore[attr-defined]
        if isinstance(cog, Animate):
            await cog.cancel_from_button(interaction, self.job_id)


def cancel_view(job: Job) -> discord.ui.View | None:
    if job.id is None or job.status.is_final:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job.id))
    return view


class Animate(commands.Cog):
    def __init__(self, bot: AnimateBot, jobs: JobService) -> None:
        self.bot = bot
        self.jobs = jobs
        self.settings = bot.settings
        self._sessions: dict[int, _Session] = {}
        # Status messages that can no longer be edited (deleted, no access).
        self._unreachable: set[int] = set()
        self._preparing = asyncio.Semaphore(PREPARING_AT_ONCE)
        # Latest state wins, one edit per message per interval.
        self._status_updates: Coalescer[int, Job] = Coalescer(
            self._edit_status,
            interval=self.settings.status_edit_interval_seconds,
        )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CancelButton)
        self.jobs.observer = self

    async def cog_unload(self) -> None:
        self.jobs.observer = None
        await self._status_updates.close()

    # -- /animate ----------------------------------------------------------

    @app_commands.command(name="animate", description="Turn an image into a short video")
    @app_commands.describe(
        image="The picture to animate (PNG, JPEG, WebP or GIF)",
        prompt="What should happen in the video; under 500 characters works best",
        resolution="Video resolution (default 480p; higher takes longer)",
        ratio="Aspect ratio of the video (default: adaptive, follows the image)",
        duration=f"Length in seconds, {MIN_DURATION} to {MAX_DURATION} (default 5)",
        audio="Generate sound with the video (default on)",
        camera_fixed="Keep the camera still (default on)",
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
            precheck_metadata(
                filename=image.filename,
                content_type=image.content_type,
                size=image.size,
                width=image.width,
                height=image.height,
            )
            await self.jobs.check_quota(interaction.user.id)
        except (PromptRejected, ImageRejected) as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        options = JobOptions(
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            generate_audio=audio,
            camera_fixed=camera_fixed,
        )
        await self._run(interaction, image, cleaned, options)

    async def animate_again(self, interaction: discord.Interaction, source: Job) -> None:
        """Run a past job's prompt and options again on the image its status message hosts."""
        # Buttons bypass the command tree's check: refused while stopping, waited for if not.
        if not await self.bot.admit(interaction):
            return
        try:
            await self.jobs.check_quota(interaction.user.id)
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        image = await self._hosted_image(source)
        if image is None:
            await self._replace_placeholder_with_error(interaction, IMAGE_GONE)
            return
        await self._run(interaction, image, source.prompt, source.options)

    async def _hosted_image(self, job: Job) -> discord.Attachment | None:
        name = hosted_filename(job)
        if name is None or job.channel_id is None or job.status_message_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
        except discord.HTTPException:
            return None
        return next((a for a in message.attachments if a.filename == name), None)

    async def _run(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: str,
        options: JobOptions,
    ) -> None:
        """After the public defer: check the real bytes, write the row, start the job."""
        async with self._preparing:
            try:
                prepared, original = await self._read_image(image)
                job = await self.jobs.create(
                    user_id=interaction.user.id,
                    guild_id=interaction.guild_id,
                    channel_id=interaction.channel_id,
                    prompt=prompt,
                    options=options,
                    image=prepared.facts,
                )
            except (ImageRejected, QuotaExceeded) as exc:
                text = quota_message(exc) if isinstance(exc, QuotaExceeded) else str(exc)
                await self._replace_placeholder_with_error(interaction, text)
                return
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Could not download the image of user %s", interaction.user.id)
                await self._replace_placeholder_with_error(interaction, IMAGE_UNREACHABLE)
                return
            status_message = await self._start(interaction, job, image.url, prepared, original)
        if status_message is not None:
            try:
                await status_message.add_reaction(CANCEL_EMOJI)
            except discord.HTTPException:
                log.debug("Job %s: cannot add the cancel reaction", job.id)

    async def _read_image(self, image: discord.Attachment) -> tuple[PreparedImage, bytes]:
        # Bounded: a stalled download must not hold one of the few preparing slots.
        async with asyncio.timeout(self.settings.http_timeout_seconds):
            data = await image.read()
        # Pillow work is CPU-bound; keep the event loop (and other users) responsive.
        prepared = await asyncio.to_thread(prepare_image, data, filename=image.filename)
        return prepared, data

    async def _replace_placeholder_with_error(
        self, interaction: discord.Interaction, text: str
    ) -> None:
        """Swap the public "thinking" message for an error only the author sees."""
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("Could not delete the placeholder", exc_info=True)
        await interaction.followup.send(text, ephemeral=True)

    async def _start(
        self,
        interaction: discord.Interaction,
        job: Job,
        source_url: str,
        prepared: PreparedImage,
        original: bytes,
    ) -> discord.Message | None:
        """Publish the status message, then submit once; the message while the job lives.

        The image is attached to the status message when it fits the upload limit:
        it is the embed's thumbnail, "Animate again" can fetch it later, and a fitted
        image needs that public URL for RunComfy anyway.
        """
        assert job.id is not None
        data = prepared.data if prepared.data is not None else original
        hosted_name = f"input-{job.id}.{prepared.facts.format.lower()}"
        hosting = len(data) <= interaction.filesize_limit
        if not hosting and prepared.data is not None:
            await self.jobs.abandon(job.id, "The resized image is too large to upload here.")
            await self._replace_placeholder_with_error(
                interaction,
                "Your image had to be resized, and the result is larger than this server's "
                f"upload limit ({size_mb(interaction.filesize_limit)}). Try a smaller image.",
            )
            return None
        files = [discord.File(io.BytesIO(data), filename=hosted_name)] if hosting else []
        # The embed names the attachment it shows; the URL is known once it is posted.
        shown = job.model_copy(update={"image_url": hosted_name if hosting else None})
        try:
            message = await interaction.edit_original_response(
                embed=await self._embed(shown), attachments=files, view=cancel_view(job)
            )
        except discord.HTTPException as exc:
            log.warning("Job %d: status message failed (%s)", job.id, exc)
            await self.jobs.abandon(job.id, "The status message could not be posted.")
            await self._replace_placeholder_with_error(
                interaction,
                "I could not post the status message here, so nothing was sent. "
                "If your image is very large, try a smaller one.",
            )
            return None
        self._sessions[job.id] = _Session(interaction, time.monotonic())
        hosted_url = next((a.url for a in message.attachments if a.filename == hosted_name), None)
        submitted = await self.jobs.submit(
            job.id,
            image_url=hosted_url if prepared.data is not None and hosted_url else source_url,
            status_message_id=message.id,
            hosted_url=hosted_url,
        )
        return None if submitted.status.is_final else message

    # -- status message ----------------------------------------------------

    async def _embed(self, job: Job) -> discord.Embed:
        return status_embed(job, expected_seconds=await self.jobs.expected_duration(job.options))

    async def job_updated(self, job: Job) -> None:
        if job.id is None or job.status_message_id is None:
            return
        if job.status.is_final:
            # Final states are shown at once, replacing anything pending.
            await self._status_updates.flush(job.id, job)
        else:
            self._status_updates.submit(job.id, job)

    async def _edit_status(self, job_id: int, job: Job) -> None:
        if job_id in self._unreachable or job.status_message_id is None:
            return
        embed, view = await self._embed(job), cancel_view(job)
        session = self._sessions.get(job_id)
        if session is not None and session.fresh(self.settings.interaction_token_ttl_seconds):
            try:
                await session.interaction.edit_original_response(embed=embed, view=view)
                return
            except discord.HTTPException as exc:
                if not _token_expired(exc):
                    raise
                log.info("Job %d: interaction token expired; using the channel", job_id)
                del self._sessions[job_id]
        if job.channel_id is None:
            return
        message = self.bot.get_partial_messageable(job.channel_id).get_partial_message(
            job.status_message_id
        )
        try:
            await message.edit(embed=embed, view=view)
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("Job %d: status message unreachable (%s)", job_id, exc)
            self._unreachable.add(job_id)
        if job.status.is_final:
            self._forget(job_id)

    def _forget(self, job_id: int) -> None:
        self._sessions.pop(job_id, None)
        self._status_updates.forget(job_id)

    # -- telling the author ------------------------------------------------

    async def job_ended(self, job: Job) -> None:
        mention = f"<@{job.user_id}>"
        await self._tell_author(job, ended_message(job, mention))

    def upload_limit(self, job: Job) -> int:
        session = self._sessions.get(job.id or 0)
        if session is not None:
            return session.interaction.filesize_limit
        guild = self.bot.get_guild(job.guild_id) if job.guild_id else None
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def deliver(self, job: Job, video: Path | None) -> Delivery | None:
        mention = f"<@{job.user_id}>"
        if video is not None:
            text = f"{mention} your video is ready! ({describe_options(job.options)})"
            delivery = await self._tell_author(job, text, video=video)
            if delivery is not None:
                return delivery
        # Too large to upload here (or the upload failed): a link still gets it to them.
        limit = size_mb(self.upload_limit(job))
        text = (
            f"{mention} your video is ready: {job.video_url}\n"
            f"It is larger than this server's upload limit ({limit}), so here is a link. "
            "Download it soon: the link may expire."
        )
        return await self._tell_author(job, text)

    async def _tell_author(
        self, job: Job, text: str, *, video: Path | None = None
    ) -> Delivery | None:
        """Reply to the status message; else a followup; else a DM. Pings the author only."""
        pings = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
        )
        for place in (self._send_in_channel, self._send_followup, self._send_dm):
            file = discord.File(video, filename=f"animate-{job.id}.mp4") if video else None
            try:
                message = await place(job, text, file, pings)
            except discord.HTTPException as exc:
                if exc.code == UPLOAD_TOO_LARGE or exc.status == 413:
                    return None  # the caller falls back to a link
                log.info("Job %s: %s failed (%s)", job.id, place.__name__, exc)
                continue
            finally:
                if file is not None:
                    file.close()  # a place that did not use it must not leak it
            if message is not None:
                return Delivery(channel_id=message.channel.id, message_id=message.id)
        log.warning(
            "Job %s: no way to reach user %d; result kept for /history", job.id, job.user_id
        )
        return None

    async def _send_in_channel(
        self, job: Job, text: str, file: discord.File | None, pings: discord.AllowedMentions
    ) -> discord.Message | None:
        if job.channel_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id)
        reference = None
        if job.status_message_id is not None and job.id not in self._unreachable:
            reference = _reply_to(job.channel_id, job.status_message_id)
        kwargs: dict[str, Any] = {
            "allowed_mentions": pings,
            "reference": reference,
            "nonce": _nonce(job, text),
        }
        if file is not None:
            kwargs["file"] = file
        return await channel.send(text, **kwargs)

    async def _send_followup(
        self, job: Job, text: str, file: discord.File | None, pings: discord.AllowedMentions
    ) -> discord.Message | None:
        session = self._sessions.get(job.id or 0)
        if session is None or not session.fresh(self.settings.interaction_token_ttl_seconds):
            return None
        kwargs: dict[str, Any] = {"allowed_mentions": pings, "wait": True}
        if file is not None:
            kwargs["file"] = file
        return await session.interaction.followup.send(text, **kwargs)

    async def _send_dm(
        self, job: Job, text: str, file: discord.File | None, pings: discord.AllowedMentions
    ) -> discord.Message | None:
        user = self.bot.get_user(job.user_id) or await self.bot.fetch_user(job.user_id)
        kwargs: dict[str, Any] = {"allowed_mentions": pings, "nonce": _nonce(job, text)}
        if file is not None:
            kwargs["file"] = file
        return await user.send(text, **kwargs)

    async def alert_operator(self, text: str) -> None:
        channel_id = self.settings.admin_channel_id
        if channel_id is not None:
            await self.bot.get_partial_messageable(channel_id).send(f"⚠️ {text}")

    # -- cancel ------------------------------------------------------------

    async def cancel_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        is_moderator = interaction.permissions.manage_messages
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self._cancel(job_id, interaction.user.id, is_moderator)
        await interaction.followup.send(CANCEL_REPLIES[outcome], ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.bot.user
        if str(payload.emoji) != CANCEL_EMOJI or (me is not None and payload.user_id == me.id):
            return
        job = await self.jobs.store.find_by_status_message(payload.message_id)
        if job is None or job.id is None:
            return
        outcome = await self._cancel(job.id, payload.user_id, self._is_moderator(payload))
        if outcome is CancelOutcome.NOT_ALLOWED:
            await self._remove_reaction(payload)
        elif outcome is CancelOutcome.RENDERING:
            await self._answer_reaction(payload, CANCEL_REPLIES[outcome])

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
        reference = _reply_to(payload.channel_id, payload.message_id)
        try:
            await channel.send(
                f"<@{payload.user_id}> {text}", allowed_mentions=pings, reference=reference
            )
        except discord.HTTPException:
            log.info("Could not answer a reaction on message %d", payload.message_id)

    async def _cancel(self, job_id: int, user_id: int, is_moderator: bool) -> CancelOutcome:
        try:
            return await self.jobs.cancel(job_id, actor_id=user_id, actor_is_moderator=is_moderator)
        except Exception:
            log.exception("Cancel of job %d failed", job_id)
            return CancelOutcome.NOT_YET

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        message = self.bot.get_partial_messageable(payload.channel_id).get_partial_message(
            payload.message_id
        )
        # Without Manage Messages the reaction stays; it is ignored anyway.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(payload.emoji, discord.Object(payload.user_id))


IMAGE_UNREACHABLE = (
    "I could not download your image from Discord, so nothing was sent. Please try again."
)
IMAGE_GONE = (
    "The image of that job is no longer available. Please use /animate again and attach the image."
)

CANCEL_REPLIES: dict[CancelOutcome, str] = {
    CancelOutcome.CANCELLED: "Cancelled. It was still queued, so nothing was charged.",
    CancelOutcome.RENDERING: (
        "This video is already rendering and cannot be stopped; "
        "it will be delivered (and billed) when it is done."
    ),
    CancelOutcome.NOT_YET: "The job is still being sent; try again in a moment.",
    CancelOutcome.FINISHED: "This job has already finished.",
    CancelOutcome.NOT_ALLOWED: (
        "Only the person who started this job (or a moderator) can cancel it."
    ),
    CancelOutcome.UNKNOWN: "I do not know this job any more.",
}


def _nonce(job: Job, text: str) -> str:
    """The same message of the same job gets the same nonce.

    Discord (with `enforce_nonce`, which discord.py sets) returns the existing
    message instead of posting a second one, so a crash between posting and
    recording the delivery cannot make a restart deliver twice.
    """
    digest = hashlib.blake2s(text.encode(), digest_size=6).hexdigest()
    return f"j{job.id}-{digest}"[:25]


def _reply_to(channel_id: int, message_id: int) -> discord.MessageReference:
    # A deleted status message must not make the reply (and so the delivery) fail.
    return discord.MessageReference(
        message_id=message_id, channel_id=channel_id, fail_if_not_exists=False
    )


def _token_expired(exc: discord.HTTPException) -> bool:
    return exc.status == 401 or exc.code == WEBHOOK_EXPIRED


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(Animate(bot, bot.jobs))
