"""Starting a job, written once: /animate, its menu, Again, Remix, Higher, Extend and
/history's "Animate again" all go through `Starter`.

Before the defer, only checks without I/O but the local database (`may_start`,
`precheck_image`), well inside Discord's 3 s. After it (`launch`): the image read and
checked, the row, the public status message, the submit, then the ❌ reaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import discord

from bot.admission import Admission, AdmissionRefused, ModelChoice
from bot.arrivals import Arrivals
from bot.config import Settings
from bot.domain import Job, Options
from bot.failures import HOSTED_TOO_LARGE_ERROR, STATUS_FAILED_ERROR
from bot.images import ImageRejected, PreparedImage, precheck_metadata, prepare_within_budget
from bot.images.bounds import ImageBounds
from bot.images.rejections import busy
from bot.jobs import JobService
from bot.models.model import VideoModel
from bot.models.options import OptionRefused
from bot.models.registry import Models
from bot.pricing import Pricing
from bot.quotas import QuotaExceeded
from cogs.animate.buttons import cancel_view
from cogs.animate.model_options import refusal_text
from cogs.animate.places import (
    follow_up,
    may_post_here,
    reach_of,
    remember_visibility,
    settings_guild,
    visibility_of,
)
from cogs.animate.rendering import CANCEL_EMOJI, CANCELLABLE, hosted_filename
from cogs.animate.replies import (
    IMAGE_UNREACHABLE,
    STATUS_NOT_POSTED,
    quota_message,
    refusal_message,
    resized_too_large,
)
from cogs.animate.status import StatusBoard
from cogs.common.contracts import Admit
from cogs.common.translator import public_locale, user_messages

log = logging.getLogger(__name__)

# Images are downloaded a few at a time (up to 50 MB each; decoding is bounded by the
# images' own memory budget). The rest of a start (status message, submit) is waiting
# on the network and runs for every command at once, so a slow RunComfy holds no one
# else's status message.
PREPARING_AT_ONCE = 8
# A user's next image waits this long for their previous ones (each bounded by the
# download timeout and the memory budget's wait) before they are asked to try again.
IMAGE_TURN_WAIT_SECONDS = 120.0
# Catalog keys.
RESULT_GONE = "result.gone"
NOT_HERE = "start.no_send"


class ImageUnreadable(Exception):
    """The image could not be read (a failed download, a video without a last frame)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key  # catalog key of what the author reads


@dataclass(frozen=True)
class Order:
    """What a new job makes: its model, the model's options, and what it should cost."""

    model: VideoModel
    options: Options
    estimate_usd: float | None


@dataclass(frozen=True)
class ImageSource:
    """Where a new job's image comes from."""

    # The image checked against a model's bounds, and the bytes read; raises
    # ImageRejected or ImageUnreadable.
    read: Callable[[ImageBounds], Awaitable[tuple[PreparedImage, bytes]]]
    # What RunComfy fetches when the bot does not host a fitted copy; "" when it must.
    url: str


@dataclass(frozen=True)
class Posted:
    """A job whose status message is up, ready to be sent to RunComfy."""

    job_id: int
    message: discord.Message
    image_url: str  # what RunComfy fetches: the hosted copy, else the source's URL
    hosted_url: str | None
    reacts: bool  # its status message takes the ❌ (public, where the bot hears reactions)


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
        self.admission = admission
        self.models = models
        self.pricing = pricing
        self.arrivals = arrivals
        self.board = board
        self.admit = admit
        self.preparing = asyncio.Semaphore(PREPARING_AT_ONCE)
        # A user's lock lives while one of their images is read or waits for its turn.
        self._image_turns: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- before the defer ----------------------------------------------------

    async def choose_model(
        self, interaction: discord.Interaction[Any], wanted: str | None
    ) -> ModelChoice | None:
        """The model asked for (else this server's default); None once refused privately."""
        try:
            return await self.admission.choose_model(settings_guild(interaction), wanted)
        except AdmissionRefused as exc:
            await self._refuse(interaction, refusal_message(exc, user_messages(interaction)))
            return None

    async def order(
        self,
        interaction: discord.Interaction[Any],
        model: VideoModel,
        picked: Mapping[str, object],
        *,
        base: Options | None = None,
    ) -> Order | None:
        """The model's options with what was picked, and the estimate; None once a value
        the model does not take was refused privately with what it takes."""
        try:
            options = model.choose(picked, base=base)
        except OptionRefused as exc:
            await self._refuse(interaction, refusal_text(exc, model, user_messages(interaction)))
            return None
        return Order(model, options, await self.pricing.estimate(model, options))

    async def may_start(self, interaction: discord.Interaction[Any], order: Order) -> bool:
        """Every check a new job passes before its defer; a refusal is answered privately.

        Stopping (buttons and forms bypass the command tree's check), the admins' and
        operator's switches, then the quotas. Nothing is stored or sent when refused.
        """
        if not await self.admit(interaction):
            return False
        t = user_messages(interaction)
        if not may_post_here(interaction):
            await interaction.response.send_message(t(NOT_HERE), ephemeral=True)
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
        except QuotaExceeded as exc:
            await interaction.response.send_message(quota_message(exc, t), ephemeral=True)
            return False
        except AdmissionRefused as exc:
            await interaction.response.send_message(refusal_message(exc, t), ephemeral=True)
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
            await interaction.response.send_message(
                exc.text(user_messages(interaction)), ephemeral=True
            )
            return False
        return True

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
        source = ImageSource(partial(self._read_attachment, image, interaction.user.id), image.url)
        return await self.launch(interaction, prompt, order, source)

    async def same_order(self, interaction: discord.Interaction[Any], source: Job) -> Order | None:
        """A past job's model and options again; None once refused (the model is gone)."""
        model = self.models.get(source.model_id)
        if model is None:
            await self._refuse(interaction, user_messages(interaction)("result.model_gone"))
            return None
        return await self.order(interaction, model, {}, base=source.options)

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
        order = order or await self.same_order(interaction, source)
        if order is None or not await self.may_start(interaction, order):
            return False
        await self.defer(interaction)
        if accepted is not None:
            await accepted()
        image = await self._hosted_image(source)
        if image is None:
            await self.fail(interaction, user_messages(interaction)(RESULT_GONE))
            return True
        read = partial(self._read_attachment, image, interaction.user.id)

        async def read_if_still_shown(bounds: ImageBounds) -> tuple[PreparedImage, bytes]:
            read_image = await read(bounds)
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
                async with self._image_turn(interaction.user.id), self.preparing:
                    prepared, original = await image.read(order.model.bounds)
            except ImageRejected as exc:
                await self.fail(interaction, exc.text(t))
                return False
            except ImageUnreadable as exc:
                await self.fail(interaction, t(exc.key))
                return False
            posted = await self._post(
                interaction, prompt, order, image.url, prepared, original, extends_job_id
            )
            # Only URLs from here on: in a burst the submit may wait (bot/arrivals.py), and
            # a thousand images must not wait in memory with it.
            del prepared, original
            status_message = await self._send(posted) if posted is not None else None
            return await self._add_cancel_reaction(posted, status_message)

    async def _refuse(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Before the defer: a private answer, and nothing stored or sent."""
        await interaction.response.send_message(text, ephemeral=True)

    async def fail(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Swap the public "thinking" message for an error only the author sees."""
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("Could not delete the placeholder", exc_info=True)
        if await follow_up(interaction, text, ephemeral=True) is None:
            log.info("No followup left to tell user %s: %s", interaction.user.id, text)

    # -- the pipeline's steps ------------------------------------------------

    @contextlib.asynccontextmanager
    async def _image_turn(self, user_id: int) -> AsyncIterator[None]:
        """One image at a time per user: their next ones wait here, before the download
        and the shared slots, so a burst of theirs holds no memory and delays only them
        (waiting rather than refusing: two pictures sent in a row are both animated)."""
        turn = self._image_turns.setdefault(user_id, asyncio.Lock())
        try:
            async with asyncio.timeout(IMAGE_TURN_WAIT_SECONDS):
                await turn.acquire()
        except TimeoutError:
            raise busy() from None
        try:
            yield
        finally:
            turn.release()

    async def _read_attachment(
        self, image: discord.Attachment, user_id: int, bounds: ImageBounds
    ) -> tuple[PreparedImage, bytes]:
        try:
            # Bounded: a stalled download must not hold one of the few preparing slots.
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                data = await image.read()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
            log.warning("Could not download the image of user %s", user_id)
            raise ImageUnreadable(IMAGE_UNREACHABLE) from None
        # In a worker thread once the process's memory for decoding has room for it.
        prepared = await prepare_within_budget(data, filename=image.filename, bounds=bounds)
        return prepared, data

    async def _hosted_image(self, job: Job) -> discord.Attachment | None:
        name = hosted_filename(job)
        if name is None or job.channel_id is None or job.status_message_id is None:
            return None
        if not job.channel_reachable:
            return None  # only its command's token could read its status message
        channel = self.bot.get_partial_messageable(job.channel_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
        except discord.HTTPException:
            return None
        return next((a for a in message.attachments if a.filename == name), None)

    async def _post(
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
        try:
            job = await self.jobs.create(
                extends_job_id=extends_job_id,
                locale=public_locale(interaction, await self.admission.server_language(server)),
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
        except QuotaExceeded as exc:
            await self.fail(interaction, quota_message(exc, t))
            return None
        except AdmissionRefused as exc:
            await self.fail(interaction, refusal_message(exc, t))
            return None
        assert job.id is not None
        data = prepared.data if prepared.data is not None else original
        hosted_name = f"input-{job.id}.{prepared.facts.format.lower()}"
        hosting = len(data) <= interaction.filesize_limit
        if not hosting and prepared.data is not None:
            await self.jobs.abandon(job.id, HOSTED_TOO_LARGE_ERROR)
            await self.fail(interaction, resized_too_large(interaction.filesize_limit, t))
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
            await self.jobs.abandon(job.id, STATUS_FAILED_ERROR)
            await self.fail(interaction, t(STATUS_NOT_POSTED))
            return None
        self.board.remember(job.id, interaction)
        self.arrivals.arrived(interaction.id)  # its submit waits for the others' messages
        hosted_url = next((a.url for a in message.attachments if a.filename == hosted_name), None)
        image_url = hosted_url if prepared.data is not None and hosted_url else source_url
        return Posted(job.id, message, image_url, hosted_url, reacts=job.channel_reachable)

    async def _send(self, posted: Posted) -> discord.Message | None:
        """Submit once; the status message while the job lives."""
        # Its ❌ is added after the submit (`_add_cancel_reaction`), and the job may be
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

    async def _add_cancel_reaction(
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
