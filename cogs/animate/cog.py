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
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.admission import AdmissionRefused
from bot.jobs import CancelOutcome, Delivery, JobService, LinkReason, ProgressNote, QuotaExceeded
from bot.models import MAX_DURATION, MIN_DURATION, Job, JobOptions, Ratio, Resolution
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from bot.validation import ImageRejected, PreparedImage, precheck_metadata, prepare_image
from bot.video import VideoUnreadable, concat, last_frame_png
from cogs.animate.buttons import DYNAMIC_ITEMS, cancel_view, result_view
from cogs.animate.delivery import Courier, reply_to
from cogs.animate.remix import PromptModal
from cogs.animate.rendering import CANCEL_EMOJI, CANCELLABLE, hosted_filename, public_messages
from cogs.animate.replies import (
    IMAGE_UNREACHABLE,
    STATUS_NOT_POSTED,
    cancel_reply,
    megabytes,
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
        # (user, job, button) presses being handled: a double press starts one job.
        self._pressing: set[tuple[int, int, str]] = set()
        self.menu = app_commands.ContextMenu(
            name=command_text("animate.menu.name"), callback=self.animate_message
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
        # Buttons bypass the command tree's check: refused while stopping, waited for if not.
        if not await self.bot.admit(interaction):
            return False
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
        if hold is not None:
            await self._show_pressed(interaction, hold, pressed=True)
        image = await self._hosted_image(source)
        if image is None:
            await self._replace_placeholder_with_error(interaction, t("result.gone"))
            return True
        await self._run(interaction, image, prompt or source.prompt, options or source.options)
        return True

    async def _admit(self, interaction: discord.Interaction, duration: int) -> None:
        """Pause, channel, spend cap, model: the cheap checks, before any defer."""
        await self.bot.services.admission.check(
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            duration=duration,
        )

    # -- the buttons under a delivered video --------------------------------

    async def again_from_button(
        self, interaction: discord.Interaction, job_id: int, *, resolution: Resolution | None = None
    ) -> None:
        """Again (or Higher resolution): one new job per press, for whoever pressed."""
        key = (interaction.user.id, job_id, resolution or "again")
        if key in self._pressing:
            await interaction.response.send_message(
                user_messages(interaction)("result.busy"), ephemeral=True
            )
            return
        self._pressing.add(key)
        try:
            source = await self.jobs.store.get_shown(job_id)
            if source is None:
                await interaction.response.send_message(
                    user_messages(interaction)("result.gone"), ephemeral=True
                )
                return
            options = source.options
            if resolution is not None:
                options = options.model_copy(update={"resolution": resolution})
            await self.animate_again(interaction, source, options=options, hold=source)
        finally:
            self._pressing.discard(key)
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await self._show_pressed(interaction, source, pressed=False)

    async def _show_pressed(
        self, interaction: discord.Interaction, source: Job, *, pressed: bool
    ) -> None:
        """Grey the pressed button out while its job starts, then offer it again.

        Others may press it too (each for a job of their own), so it comes back.
        """
        message = interaction.message
        if message is None:
            return
        # The same buttons as delivered: Extend keeps its state, Join stays if it was there.
        view = result_view(
            source,
            extendable=f"animate:extend:{source.id}" in _custom_ids(message),
            extend_disabled=source.extended_at is not None,
            joinable=f"animate:join:{source.id}" in _custom_ids(message),
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

    async def remix_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """A modal prefilled with the prompt and options; its answer starts one job."""
        t = user_messages(interaction)
        source = await self.jobs.store.get_shown(job_id)
        if source is None:
            await interaction.response.send_message(t("result.gone"), ephemeral=True)
            return
        if not await self.bot.admit(interaction):
            return
        try:
            await self._admit(interaction, source.options.duration)
            await self.jobs.check_quota(interaction.user.id)
        except QuotaExceeded as exc:
            await interaction.response.send_message(
                quota_message(exc, user_messages(interaction)), ephemeral=True
            )
            return
        except AdmissionRefused as exc:
            await interaction.response.send_message(
                refusal_message(exc, user_messages(interaction)), ephemeral=True
            )
            return

        async def remixed(
            modal_interaction: discord.Interaction, prompt: str, options: JobOptions
        ) -> None:
            await self.animate_again(modal_interaction, source, prompt=prompt, options=options)

        modal = PromptModal(
            title=t("remix.title"),
            t=t,
            options=source.options,
            prompt=source.prompt,
            on_done=remixed,
        )
        await interaction.response.send_modal(modal)

    # -- the "Animate" entry of a message's context menu ---------------------

    async def animate_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        t = user_messages(interaction)
        image = first_image(message)
        if image is None:
            await interaction.response.send_message(t("menu.no_image"), ephemeral=True)
            return
        try:
            precheck_metadata(
                filename=image.filename,
                content_type=image.content_type,
                size=image.size,
                width=image.width,
                height=image.height,
            )
            await self._admit(interaction, JobOptions().duration)
            await self.jobs.check_quota(interaction.user.id)
        except ImageRejected as exc:
            await interaction.response.send_message(
                exc.text(user_messages(interaction)), ephemeral=True
            )
            return
        except QuotaExceeded as exc:
            await interaction.response.send_message(
                quota_message(exc, user_messages(interaction)), ephemeral=True
            )
            return
        except AdmissionRefused as exc:
            await interaction.response.send_message(
                refusal_message(exc, user_messages(interaction)), ephemeral=True
            )
            return

        async def asked(
            modal_interaction: discord.Interaction, prompt: str, options: JobOptions
        ) -> None:
            # The form may be sent long after: stopping, and the chosen duration's cost.
            if not await self.bot.admit(modal_interaction):
                return
            try:
                await self._admit(modal_interaction, options.duration)
            except AdmissionRefused as exc:
                await modal_interaction.response.send_message(
                    refusal_message(exc, user_messages(modal_interaction)), ephemeral=True
                )
                return
            await modal_interaction.response.defer(thinking=True)
            await self._run(modal_interaction, image, prompt, options)

        modal = PromptModal(
            title=t("menu.title"), t=t, options=JobOptions(), prompt="", on_done=asked
        )
        await interaction.response.send_modal(modal)

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
    ) -> bool:
        """After the public defer: check the real bytes, write the row, start the job.

        True when a job was started.
        """
        async with self._preparing:
            try:
                prepared, original = await self._read_image(image)
            except ImageRejected as exc:
                await self._replace_placeholder_with_error(
                    interaction, exc.text(user_messages(interaction))
                )
                return False
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Could not download the image of user %s", interaction.user.id)
                await self._replace_placeholder_with_error(
                    interaction, user_messages(interaction)(IMAGE_UNREACHABLE)
                )
                return False
            status_message = await self._create_and_start(
                interaction, prompt, options, image.url, prepared, original
            )
        return await self._add_cancel_reaction(status_message)

    async def _create_and_start(
        self,
        interaction: discord.Interaction,
        prompt: str,
        options: JobOptions,
        source_url: str,
        prepared: PreparedImage,
        original: bytes,
        extends_job_id: int | None = None,
    ) -> discord.Message | None:
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
            await self._replace_placeholder_with_error(
                interaction, quota_message(exc, user_messages(interaction))
            )
            return None
        except AdmissionRefused as exc:
            await self._replace_placeholder_with_error(
                interaction, refusal_message(exc, user_messages(interaction))
            )
            return None
        return await self._start(interaction, job, source_url, prepared, original)

    async def _add_cancel_reaction(self, status_message: discord.Message | None) -> bool:
        """True when a job was started (its status message is there)."""
        if status_message is None:
            return False
        try:
            await status_message.add_reaction(CANCEL_EMOJI)
        except discord.HTTPException:
            log.debug("Cannot add the cancel reaction to message %d", status_message.id)
            return True
        # A fast job may have started rendering meanwhile, and its status edit then
        # found no ❌ to take back: look again now that it is there.
        job = await self.jobs.store.find_by_status_message(status_message.id)
        if job is not None and job.status not in CANCELLABLE:
            await self.board.remove_own_reaction(job)
        return True

    # -- Extend ------------------------------------------------------------

    async def extend_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """A new job from the last frame of a delivered video, same prompt and options."""
        source = await self.jobs.store.get_shown(job_id)
        video = _delivered_video(interaction.message, job_id)
        if source is None or video is None:
            await interaction.response.send_message(
                user_messages(interaction)(EXTEND_GONE), ephemeral=True
            )
            return
        # Buttons bypass the command tree's check: refused while stopping.
        if not await self.bot.admit(interaction):
            return
        try:
            await self._admit(interaction, source.options.duration)
            await self.jobs.check_quota(interaction.user.id)
        except QuotaExceeded as exc:
            await interaction.response.send_message(
                quota_message(exc, user_messages(interaction)), ephemeral=True
            )
            return
        except AdmissionRefused as exc:
            await interaction.response.send_message(
                refusal_message(exc, user_messages(interaction)), ephemeral=True
            )
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
            started = await self._extend(interaction, source, video)
        finally:
            if not started:
                await self.jobs.release_extend(job_id)
                await self._show_extend_button(interaction.message, source, disabled=False)

    async def _extend(
        self, interaction: discord.Interaction, source: Job, video: discord.Attachment
    ) -> bool:
        async with self._preparing:
            try:
                prepared = await self._last_frame(source, video)
            except ImageRejected as exc:
                await self._replace_placeholder_with_error(
                    interaction, exc.text(user_messages(interaction))
                )
                return False
            except (VideoUnreadable, discord.HTTPException, aiohttp.ClientError, TimeoutError):
                log.warning("Job %s: no last frame from the delivered video", source.id)
                await self._replace_placeholder_with_error(
                    interaction, user_messages(interaction)(EXTEND_NO_FRAME)
                )
                return False
            assert prepared.data is not None
            status_message = await self._create_and_start(
                interaction,
                source.prompt,
                source.options,
                "",
                prepared,
                prepared.data,
                extends_job_id=source.id,
            )
        return await self._add_cancel_reaction(status_message)

    async def _last_frame(self, source: Job, video: discord.Attachment) -> PreparedImage:
        """The video's last frame, checked like any input, as bytes the bot will host."""
        with tempfile.TemporaryDirectory(prefix="extend-") as tmp:
            path = Path(tmp) / "video.mp4"
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                await video.save(path)
            png = await asyncio.to_thread(last_frame_png, path)
        name = f"extend-{source.id}.png"
        prepared = await asyncio.to_thread(prepare_image, png, filename=name)
        # Not fitted, it still has no public URL: the status message must host it.
        return prepared if prepared.data is not None else replace(prepared, data=png)

    async def _show_extend_button(
        self, message: discord.Message | None, source: Job, *, disabled: bool
    ) -> None:
        if message is None:
            return
        joinable = f"animate:join:{source.id}" in _custom_ids(message)
        try:
            await message.edit(
                view=result_view(source, extend_disabled=disabled, joinable=joinable)
            )
        except discord.HTTPException:
            log.info("Job %s: could not update the Extend button", source.id)

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

    # -- Join --------------------------------------------------------------

    async def join_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """Deliver an extension and the clip it continues as one video (the author only)."""
        job = await self.jobs.store.get(job_id)
        source = (
            await self.jobs.store.get(job.extends_job_id) if job and job.extends_job_id else None
        )
        second = _delivered_video(interaction.message, job_id)
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
            await self._replace_placeholder_with_error(
                interaction, user_messages(interaction)(JOIN_GONE)
            )
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
                await self._replace_placeholder_with_error(
                    interaction, user_messages(interaction)(JOIN_FAILED)
                )
                return
            if not matched:
                await self._replace_placeholder_with_error(
                    interaction, user_messages(interaction)(JOIN_MISMATCH)
                )
                return
            if joined.stat().st_size > interaction.filesize_limit:
                t = user_messages(interaction)
                limit = megabytes(interaction.filesize_limit, t)
                await self._replace_placeholder_with_error(
                    interaction, t("join.too_large", limit=limit)
                )
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
        return _delivered_video(message, job.id)

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
        job = await self.jobs.store.get(job_id)
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


# Catalog keys of the Extend and Join answers (bot/locales/*/LC_MESSAGES/messages.po).
JOIN_GONE = "join.gone"
JOIN_AUTHOR_ONLY = "join.author_only"
JOIN_FAILED = "join.failed"
JOIN_MISMATCH = "join.mismatch"
EXTEND_GONE = "extend.gone"
ALREADY_EXTENDED = "extend.already"
EXTEND_NO_FRAME = "extend.no_frame"


def public_locale(interaction: discord.Interaction) -> str:
    """What the job's public messages speak: the server's language, else the user's."""
    return str(interaction.guild_locale or interaction.locale)


def first_image(message: discord.Message) -> discord.Attachment | None:
    """The first attachment that says it is an image (by type, else by its size facts)."""
    for attachment in message.attachments:
        content_type = attachment.content_type or ""
        if content_type.startswith("image/") or (not content_type and attachment.width is not None):
            return attachment
    return None


# Outcomes a ❌ reaction gets a reply for (the others show on the status message),
# besides an unexpected failure.
ANSWERED_REACTIONS = frozenset(
    {CancelOutcome.RENDERING, CancelOutcome.UNREACHABLE, CancelOutcome.ALREADY_CANCELLED}
)


def _delivered_video(message: discord.Message | None, job_id: int) -> discord.Attachment | None:
    """The video the bot uploaded for `job_id` on the message whose Extend was pressed."""
    if message is None:
        return None
    name = f"animate-{job_id}.mp4"
    return next((a for a in message.attachments if a.filename == name), None)


def _custom_ids(message: discord.Message) -> set[str]:
    return {
        child.custom_id
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button) and child.custom_id
    }
