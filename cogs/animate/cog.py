"""/animate and cancelling by ❌ or button.

This cog parses interactions and calls `JobService`; it is also the service's
`JobObserver`, the only way the service reaches Discord, delegating the status
message to `StatusBoard` and posting to `Courier`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.admission import AdmissionRefused
from bot.jobs import CancelOutcome, Delivery, JobService, QuotaExceeded
from bot.models import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from bot.validation import ImageRejected, PreparedImage, precheck_metadata, prepare_image
from cogs.animate.buttons import CancelButton, cancel_view
from cogs.animate.delivery import Courier, reply_to
from cogs.animate.rendering import CANCEL_EMOJI, hosted_filename
from cogs.animate.replies import (
    IMAGE_GONE,
    IMAGE_UNREACHABLE,
    STATUS_NOT_POSTED,
    cancel_reply,
    quota_message,
    refusal_message,
    resized_too_large,
)
from cogs.animate.status import StatusBoard
from cogs.translator import command_text, user_messages

if TYPE_CHECKING:
    from bot.app import AnimateBot

log = logging.getLogger(__name__)

# Jobs past their defer download, check and submit a few at a time: a burst of
# commands then cannot queue the next commands' 3 s acknowledgements behind its work.
PREPARING_AT_ONCE = 8


class Animate(commands.Cog):
    def __init__(self, bot: AnimateBot, jobs: JobService) -> None:
        self.bot = bot
        self.jobs = jobs
        self.settings = bot.settings
        self.board = StatusBoard(bot, jobs)
        self.courier = Courier(bot, self.board)
        self._preparing = asyncio.Semaphore(PREPARING_AT_ONCE)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CancelButton)
        self.jobs.observer = self

    async def cog_unload(self) -> None:
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
        t = user_messages(interaction)  # every refusal here is ephemeral
        try:
            cleaned = clean_prompt(prompt)
            precheck_metadata(
                filename=image.filename,
                content_type=image.content_type,
                size=image.size,
                width=image.width,
                height=image.height,
            )
            await self._admit(interaction, duration)
            await self.jobs.check_quota(interaction.user.id)
        except (PromptRejected, ImageRejected) as exc:
            await interaction.response.send_message(exc.text(t), ephemeral=True)
            return
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc, t), ephemeral=True)
            return
        except AdmissionRefused as exc:
            await interaction.response.send_message(refusal_message(exc, t), ephemeral=True)
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

    async def animate_again(
        self,
        interaction: discord.Interaction,
        source: Job,
        *,
        accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Run a past job's prompt and options again on the image its status message hosts.

        False when a quota refused it (nothing started). `accepted` runs right after
        the defer, e.g. to disable the button that was pressed.
        """
        t = user_messages(interaction)
        try:
            await self._admit(interaction, source.options.duration)
            await self.jobs.check_quota(interaction.user.id)
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc, t), ephemeral=True)
            return False
        except AdmissionRefused as exc:
            await interaction.response.send_message(refusal_message(exc, t), ephemeral=True)
            return False
        await interaction.response.defer(thinking=True)
        if accepted is not None:
            await accepted()
        image = await self._hosted_image(source)
        if image is None:
            await self._replace_placeholder_with_error(interaction, t(IMAGE_GONE))
            return True
        await self._run(interaction, image, source.prompt, source.options)
        return True

    async def _admit(self, interaction: discord.Interaction, duration: int) -> None:
        """Pause, channel, spend cap, model: the cheap checks, before any defer."""
        await self.bot.services.admission.check(
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            duration=duration,
        )

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
        t = user_messages(interaction)  # errors replace the placeholder privately
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
                text = quota_message(exc, t) if isinstance(exc, QuotaExceeded) else exc.text(t)
                await self._replace_placeholder_with_error(interaction, text)
                return
            except AdmissionRefused as exc:
                await self._replace_placeholder_with_error(interaction, refusal_message(exc, t))
                return
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Could not download the image of user %s", interaction.user.id)
                await self._replace_placeholder_with_error(interaction, t(IMAGE_UNREACHABLE))
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
                resized_too_large(interaction.filesize_limit, user_messages(interaction)),
            )
            return None
        files = [discord.File(io.BytesIO(data), filename=hosted_name)] if hosting else []
        # The embed names the attachment it shows; the URL is known once it is posted.
        shown = job.model_copy(update={"image_url": hosted_name if hosting else None})
        try:
            message = await interaction.edit_original_response(
                embed=await self.board.embed(shown), attachments=files, view=cancel_view(job)
            )
        except discord.HTTPException as exc:
            log.warning("Job %d: status message failed (%s)", job.id, exc)
            await self.jobs.abandon(job.id, "The status message could not be posted.")
            await self._replace_placeholder_with_error(
                interaction, user_messages(interaction)(STATUS_NOT_POSTED)
            )
            return None
        self.board.remember(job.id, interaction)
        hosted_url = next((a.url for a in message.attachments if a.filename == hosted_name), None)
        submitted = await self.jobs.submit(
            job.id,
            image_url=hosted_url if prepared.data is not None and hosted_url else source_url,
            status_message_id=message.id,
            hosted_url=hosted_url,
        )
        return None if submitted.status.is_final else message

    # -- JobObserver: the service reaches Discord only through these -------

    async def job_updated(self, job: Job) -> None:
        await self.board.show(job)

    async def job_ended(self, job: Job) -> None:
        await self.courier.job_ended(job)

    def upload_limit(self, job: Job) -> int:
        return self.board.upload_limit(job)

    async def deliver(self, job: Job, video: Path | None) -> Delivery | None:
        return await self.courier.deliver(job, video)

    async def alert_operator(self, text: str) -> None:
        await self.courier.alert_operator(text)

    # -- cancel ------------------------------------------------------------

    async def cancel_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        is_moderator = interaction.permissions.manage_messages
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self._cancel(job_id, interaction.user.id, is_moderator)
        await interaction.followup.send(
            cancel_reply(outcome, user_messages(interaction)), ephemeral=True
        )

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
        elif outcome is None or outcome in ANSWERED_REACTIONS:
            await self._answer_reaction(
                payload, cancel_reply(outcome, self._channel_messages(payload))
            )

    def _is_moderator(self, payload: discord.RawReactionActionEvent) -> bool:
        """Manage Messages in that channel (DMs have no moderators)."""
        member = payload.member
        if member is None:
            return False
        channel = self.bot.get_channel(payload.channel_id)
        if isinstance(channel, discord.abc.GuildChannel):
            return channel.permissions_for(member).manage_messages
        return member.guild_permissions.manage_messages

    def _channel_messages(self, payload: discord.RawReactionActionEvent) -> i18n.Messages:
        """A reaction carries no locale: a reply in the channel speaks the server's."""
        guild = self.bot.get_guild(payload.guild_id) if payload.guild_id else None
        return i18n.for_locale(str(guild.preferred_locale) if guild else None)

    async def _answer_reaction(self, payload: discord.RawReactionActionEvent, text: str) -> None:
        """Reply to the reacted message, pinging only the person who reacted."""
        pings = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(payload.user_id)]
        )
        channel = self.bot.get_partial_messageable(payload.channel_id)
        reference = reply_to(payload.channel_id, payload.message_id)
        try:
            await channel.send(
                f"<@{payload.user_id}> {text}", allowed_mentions=pings, reference=reference
            )
        except discord.HTTPException:
            log.info("Could not answer a reaction on message %d", payload.message_id)

    async def _cancel(self, job_id: int, user_id: int, is_moderator: bool) -> CancelOutcome | None:
        """The service's outcome; None when it failed unexpectedly (a bug, logged)."""
        try:
            return await self.jobs.cancel(job_id, actor_id=user_id, actor_is_moderator=is_moderator)
        except Exception:
            log.exception("Cancel of job %d failed", job_id)
            return None

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        message = self.bot.get_partial_messageable(payload.channel_id).get_partial_message(
            payload.message_id
        )
        # Without Manage Messages the reaction stays; it is ignored anyway.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(payload.emoji, discord.Object(payload.user_id))


# Outcomes a ❌ reaction gets a reply for (the others show on the status message),
# besides an unexpected failure.
ANSWERED_REACTIONS = frozenset(
    {CancelOutcome.RENDERING, CancelOutcome.UNREACHABLE, CancelOutcome.ALREADY_CANCELLED}
)
