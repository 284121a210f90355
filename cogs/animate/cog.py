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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.admission import AdmissionRefused
from bot.domain import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.images import ImageRejected, PreparedImage, precheck_metadata, prepare_image
from bot.jobs import CancelOutcome, Delivery, JobService, LinkReason, ProgressNote
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from bot.quotas import QuotaExceeded
from cogs.animate.buttons import DYNAMIC_ITEMS, cancel_view
from cogs.animate.continuations import Continuations
from cogs.animate.delivery import Courier, reply_to
from cogs.animate.rendering import CANCEL_EMOJI, CANCELLABLE, hosted_filename
from cogs.animate.replies import (
    IMAGE_UNREACHABLE,
    STATUS_NOT_POSTED,
    cancel_reply,
    quota_message,
    refusal_message,
    resized_too_large,
)
from cogs.animate.results import ResultButtons
from cogs.animate.status import StatusBoard
from cogs.common.translator import command_text, user_messages

if TYPE_CHECKING:
    from app.client import AnimateBot

log = logging.getLogger(__name__)

# Images are downloaded and decoded a few at a time (a decoded image can take 100 MB,
# and Pillow holds the GIL part of the time). The rest of a start (status message,
# submit) is waiting on the network and runs for every command at once, so a slow
# RunComfy holds no one else's status message.
PREPARING_AT_ONCE = 8


@dataclass(frozen=True)
class Posted:
    """A job whose status message is up, ready to be sent to RunComfy."""

    job_id: int
    message: discord.Message
    image_url: str  # what RunComfy fetches: the hosted copy, else the option's attachment
    hosted_url: str | None


class Animate(commands.Cog):
    def __init__(self, bot: AnimateBot, jobs: JobService) -> None:
        self.bot = bot
        self.jobs = jobs
        self.settings = bot.settings
        self.board = StatusBoard(bot, jobs)
        self.courier = Courier(bot, self.board)
        self.preparing = asyncio.Semaphore(PREPARING_AT_ONCE)
        self.results = ResultButtons(self)
        self.continuations = Continuations(self)
        self.menu = app_commands.ContextMenu(
            name=command_text("animate.menu.name"), callback=self.results.animate_message
        )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.tree.add_command(self.menu)
        self.jobs.observer = self

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
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
        except (PromptRejected, ImageRejected) as exc:
            await interaction.response.send_message(exc.text(t), ephemeral=True)
            return
        if not await self.may_start(interaction, duration):
            return
        await interaction.response.defer(thinking=True)
        options = JobOptions(
            resolution=resolution,
            ratio=ratio,
            duration=duration,
            generate_audio=audio,
            camera_fixed=camera_fixed,
        )
        await self.prepare_and_start(interaction, image, cleaned, options)

    async def animate_again(
        self,
        interaction: discord.Interaction,
        source: Job,
        *,
        prompt: str | None = None,
        options: JobOptions | None = None,
        hold: Job | None = None,
        accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Run a past job again on the image its status message hosts.

        Its prompt and options unless others are given (Remix, Higher resolution);
        a new job of whoever asked, under their quotas. False when refused (nothing
        started). `hold` greys the pressed result button out while the job starts;
        `accepted` runs right after the defer (e.g. to disable /history's button).
        """
        options = options or source.options
        if not await self.may_start(interaction, options.duration):
            return False
        t = user_messages(interaction)
        await interaction.response.defer(thinking=True)
        if accepted is not None:
            await accepted()
        if hold is not None:
            await self.results.show_pressed(interaction, hold, pressed=True)
        image = await self.hosted_image(source)
        if image is None:
            await self.replace_placeholder_with_error(interaction, t("result.gone"))
            return True
        await self.prepare_and_start(interaction, image, prompt or source.prompt, options)
        return True

    async def may_start(self, interaction: discord.Interaction, duration: int) -> bool:
        """Every check a new job passes before its defer; a refusal is answered privately.

        Stopping (buttons and forms bypass the command tree's check), the admins' and
        operator's switches, then the quotas. Nothing is stored or sent when refused.
        """
        if not await self.bot.admit(interaction):
            return False
        t = user_messages(interaction)
        try:
            await self.check_admission(interaction, duration)
            await self.jobs.check_quota(interaction.user.id)
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc, t), ephemeral=True)
            return False
        except AdmissionRefused as exc:
            await interaction.response.send_message(refusal_message(exc, t), ephemeral=True)
            return False
        return True

    async def check_admission(self, interaction: discord.Interaction, duration: int) -> None:
        """Pause, channel, spend cap, model: the cheap checks, before any defer."""
        await self.bot.services.admission.check(
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            duration=duration,
        )

    async def hosted_image(self, job: Job) -> discord.Attachment | None:
        name = hosted_filename(job)
        if name is None or job.channel_id is None or job.status_message_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
        except discord.HTTPException:
            return None
        return next((a for a in message.attachments if a.filename == name), None)

    async def prepare_and_start(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: str,
        options: JobOptions,
    ) -> bool:
        """After the public defer: check the real bytes, write the row, start the job.

        True when a job was started.
        """
        # In a burst, the others' submits wait until this one's status message is up.
        with self.jobs.arrivals.arriving_command(interaction.id):
            try:
                prepared, original = await self.read_image(image)
            except ImageRejected as exc:
                await self.replace_placeholder_with_error(
                    interaction, exc.text(user_messages(interaction))
                )
                return False
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Could not download the image of user %s", interaction.user.id)
                await self.replace_placeholder_with_error(
                    interaction, user_messages(interaction)(IMAGE_UNREACHABLE)
                )
                return False
            posted = await self.create_and_post(
                interaction, prompt, options, image.url, prepared, original
            )
            # Only URLs from here on: in a burst the submit may wait (bot/arrivals.py), and
            # a thousand images must not wait in memory with it.
            del prepared, original
            status_message = await self.send_posted(posted) if posted is not None else None
            return await self.add_cancel_reaction(posted, status_message)

    async def create_and_post(
        self,
        interaction: discord.Interaction,
        prompt: str,
        options: JobOptions,
        source_url: str,
        prepared: PreparedImage,
        original: bytes,
        extends_job_id: int | None = None,
    ) -> Posted | None:
        """Write the row and publish its status message; None when the author was told why not."""
        try:
            job = await self.jobs.create(
                extends_job_id=extends_job_id,
                locale=public_locale(interaction),
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                prompt=prompt,
                options=options,
                image=prepared.facts,
            )
        except QuotaExceeded as exc:
            await self.replace_placeholder_with_error(
                interaction, quota_message(exc, user_messages(interaction))
            )
            return None
        except AdmissionRefused as exc:
            await self.replace_placeholder_with_error(
                interaction, refusal_message(exc, user_messages(interaction))
            )
            return None
        return await self._post_status(interaction, job, source_url, prepared, original)

    async def add_cancel_reaction(
        self, posted: Posted | None, status_message: discord.Message | None
    ) -> bool:
        """True when a job was started (its status message is there)."""
        try:
            if status_message is None:
                return False
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

    async def read_image(self, image: discord.Attachment) -> tuple[PreparedImage, bytes]:
        async with self.preparing:
            # Bounded: a stalled download must not hold one of the few preparing slots.
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                data = await image.read()
            # Pillow work is CPU-bound; keep the event loop (and other users) responsive.
            prepared = await asyncio.to_thread(prepare_image, data, filename=image.filename)
        return prepared, data

    async def replace_placeholder_with_error(
        self, interaction: discord.Interaction, text: str
    ) -> None:
        """Swap the public "thinking" message for an error only the author sees."""
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("Could not delete the placeholder", exc_info=True)
        await interaction.followup.send(text, ephemeral=True)

    async def _post_status(
        self,
        interaction: discord.Interaction,
        job: Job,
        source_url: str,
        prepared: PreparedImage,
        original: bytes,
    ) -> Posted | None:
        """Publish the status message the job is then submitted with (`send_posted`).

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
            await self.replace_placeholder_with_error(
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
            await self.replace_placeholder_with_error(
                interaction, user_messages(interaction)(STATUS_NOT_POSTED)
            )
            return None
        self.board.remember(job.id, interaction)
        self.jobs.arrivals.arrived(interaction.id)  # its submit waits for the others' messages
        hosted_url = next((a.url for a in message.attachments if a.filename == hosted_name), None)
        image_url = hosted_url if prepared.data is not None and hosted_url else source_url
        return Posted(job.id, message, image_url, hosted_url)

    async def send_posted(self, posted: Posted) -> discord.Message | None:
        """Submit once; the status message while the job lives."""
        # Its ❌ is added after the submit (`add_cancel_reaction`), and the job may be
        # rendering by then: until it is there, no status edit takes it back.
        self.board.reacting(posted.job_id, True)
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

    # -- JobObserver: the service reaches Discord only through these -------

    async def job_updated(self, job: Job) -> None:
        await self.board.show(job)

    async def job_ended(self, job: Job) -> None:
        await self.courier.job_ended(job)

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
        job = await self.jobs.by_status_message(payload.message_id)
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
        job = await self.jobs.get(job_id)
        by_author = job is not None and job.user_id == user_id
        if by_author:
            # Their own cancel: they get their answer (or see the ❌ work), no public ping.
            self.courier.cancelled_by_author.add(job_id)
        try:
            return await self.jobs.cancel(job_id, actor_id=user_id, actor_is_moderator=is_moderator)
        except Exception:
            log.exception("Cancel of job %d failed", job_id)
            return None
        finally:
            if by_author:
                self.courier.cancelled_by_author.discard(job_id)

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        message = self.bot.get_partial_messageable(payload.channel_id).get_partial_message(
            payload.message_id
        )
        # Without Manage Messages the reaction stays; it is ignored anyway.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(payload.emoji, discord.Object(payload.user_id))


def public_locale(interaction: discord.Interaction) -> str:
    """What the job's public messages speak: the server's language, else the user's."""
    return str(interaction.guild_locale or interaction.locale)


# Outcomes a ❌ reaction gets a reply for (the others show on the status message),
# besides an unexpected failure.
ANSWERED_REACTIONS = frozenset(
    {CancelOutcome.RENDERING, CancelOutcome.UNREACHABLE, CancelOutcome.ALREADY_CANCELLED}
)
