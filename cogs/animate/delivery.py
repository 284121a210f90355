"""Posting the video (or its link) and telling the author how a job ended.

Every message pings the job's author and nobody else. Places are tried in
order: a followup on the command while its interaction is fresh, a reply in the
channel, a DM. The followup first: interaction routes share neither Discord's 50/s
global limit nor the channel's own (about 5 messages per 5 s), so a busy channel
where many videos finish at once gets each within a second, not one a second.
A private job's followups are ephemeral, and neither it nor a job the bot reaches by
its command's token alone is ever posted in the channel: past the token, a DM.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot.admission import Admission
from bot.config import Settings
from bot.domain import Job, Reach, Visibility
from bot.jobs import Delivery, JobService, LinkReason, UploadRefused
from bot.metrics import DeliveryKind
from bot.models.registry import Models
from cogs.animate.buttons import (
    SHARE,
    SPOILER,
    Press,
    higher_resolutions,
    result_view,
    single_view,
)
from cogs.animate.places import follow_up
from cogs.animate.rendering import (
    delivered_message,
    ended_message,
    is_video_of,
    link_message,
    public_messages,
    video_filename,
)
from cogs.animate.status import StatusBoard

log = logging.getLogger(__name__)

UPLOAD_TOO_LARGE = 40005
MESSAGE_CHARS = 2000  # Discord's most characters in a message's content
DESCRIPTION_CHARS = 4096  # and in an embed's description
# Where a link too long for the message stands in it; the link itself goes in an embed.
LINK_BELOW = "⬇️"
# Messages after a status message searched for a video posted before a restart.
HISTORY_SCAN = 200
Place = Callable[
    [
        Job,
        str,
        "discord.File | None",
        discord.AllowedMentions,
        "discord.ui.View | None",
        "discord.Embed | None",
    ],
    Awaitable["discord.Message | None"],
]
# The buttons of a message, by where it goes (FOLLOWUP, CHANNEL or DM).
Buttons = Callable[[str], "discord.ui.View | None"]
FOLLOWUP, CHANNEL, DM = "followup", "channel", "dm"


class Courier:
    def __init__(
        self,
        bot: discord.Client,
        board: StatusBoard,
        *,
        settings: Settings,
        jobs: JobService,
        models: Models,
        admission: Admission,
    ) -> None:
        self.bot = bot
        self.board = board
        self.settings = settings
        self.jobs = jobs
        self.models = models
        self.admission = admission  # the models a server offers (Higher resolution)
        self.timeout = settings.http_timeout_seconds  # one message without a file
        # Jobs being cancelled by their own author right now (see `job_ended`).
        self.cancelled_by_author: set[int] = set()

    async def job_ended(self, job: Job) -> None:
        if job.id in self.cancelled_by_author:
            # They cancelled it themselves: the status edit and their own (ephemeral)
            # answer say so; a public message pinging them would be a third notice.
            self.cancelled_by_author.discard(job.id)
            self.board.forget(job.id)
            return
        try:
            await self.tell_author(job, ended_message(job, f"<@{job.user_id}>"))
        finally:
            # The author was the last to hear of it: nothing of the job stays in memory.
            self.board.forget(job.id)

    async def deliver(
        self, job: Job, video: Path | None, *, why: LinkReason | None = None
    ) -> Delivery | None:
        earlier = await self._posted_before_restart(job)
        if earlier is not None:
            log.info("Job %s: posted before the restart; not posting it again", job.id)
            return earlier
        mention = f"<@{job.user_id}>"
        # A server's own settings apply to what its install started (`Reach.CHANNEL`).
        server = job.guild_id if job.reach is Reach.CHANNEL else None
        higher = higher_resolutions(job, self.models, await self.admission.offered(server))
        if video is not None:
            text = delivered_message(job, mention)
            joinable = await self._joinable(job, video)

            def under_video(where: str) -> discord.ui.View | None:
                assert job.id is not None
                if job.private:
                    # Its author alone sees it: they may post it to the channel, once (not
                    # from a DM, nor where the server makes everything private).
                    if job.visibility is Visibility.PRIVATE and where == FOLLOWUP:
                        return single_view(Press(SHARE, job.id), public_messages(job))
                    return None
                if job.reach is Reach.TOKEN:
                    # The buttons that start a job read its status message through the
                    # channel: only the spoiler works here, on the video itself.
                    if where == DM:
                        return None
                    return single_view(Press(SPOILER, job.id), public_messages(job))
                spoiler = None if where == DM else False  # nobody else sees a DM
                return result_view(job, higher=higher, joinable=joinable, spoiler=spoiler)

            delivery = await self.tell_author(job, text, video=video, buttons=under_video)
            if delivery is not None:
                return delivery
            why = LinkReason.NOT_UPLOADED  # no place took the file
        # A link still gets it to them; say truthfully why it is only a link.
        limit = self.board.upload_limit(job)
        text, embed = link_message(job, mention, limit, why), None
        if len(text) > MESSAGE_CHARS and job.video_url:
            # A signed URL can run to kilobytes: past the message's limit, in an embed.
            text = link_message(
                job.model_copy(update={"video_url": LINK_BELOW}), mention, limit, why
            )
            embed = discord.Embed(description=job.video_url[:DESCRIPTION_CHARS])

        def under_link(where: str) -> discord.ui.View | None:
            if not job.channel_reachable:
                return None  # nothing it offers would work there
            # No video on the message: nothing to extend from, or to hide.
            return result_view(job, higher=higher, extendable=False)

        return await self.tell_author(job, text, buttons=under_link, embed=embed)

    async def _posted_before_restart(self, job: Job) -> Delivery | None:
        """The video (or its link) an earlier process posted as a followup but did not record.

        A followup carries no nonce for Discord to drop a second post by (the channel
        and DM routes do). Only a job whose command this process never saw, that ended
        while the command was fresh, can have one: it follows the status message in
        its channel, among the next HISTORY_SCAN messages.
        """
        fresh_for = self.settings.interaction_token_ttl_seconds
        if (
            job.id in self.board.sessions
            or job.finished_at is None
            or job.finished_at - job.created_at > fresh_for
        ):
            return None
        return await self._find_post(job)

    async def _find_post(self, job: Job) -> Delivery | None:
        """The bot's post of this job's video (its file, or its link) after its status message."""
        if job.channel_id is None or job.status_message_id is None or self.bot.user is None:
            return None
        if not job.channel_reachable:
            return None  # the bot cannot read that channel (or the post is ephemeral)
        channel = self.bot.get_partial_messageable(job.channel_id)
        try:
            after = discord.Object(job.status_message_id)
            async with asyncio.timeout(self.timeout):
                async for message in channel.history(limit=HISTORY_SCAN, after=after):
                    if message.author.id != self.bot.user.id:
                        continue
                    if any(is_video_of(a.filename, job.id) for a in message.attachments):
                        return Delivery(message.channel.id, message.id, "upload")
                    # A link-only post has no file: its video's URL (one per job) tells it.
                    if job.video_url and job.video_url in message.content:
                        return Delivery(message.channel.id, message.id, "link")
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.info("Job %s: could not look for an earlier post (%r)", job.id, exc)
        return None

    async def _joinable(self, job: Job, video: Path) -> bool:
        """An extension whose clip and the one it continues are the author's and fit together."""
        if job.extends_job_id is None:
            return False
        source = await self.jobs.get(job.extends_job_id)
        if source is None or source.user_id != job.user_id or source.delivered_message_id is None:
            return False
        posted = source.posted_video_bytes or source.video_bytes
        if posted is None:
            return False
        return posted + video.stat().st_size <= self.board.upload_limit(job)

    async def tell_author(
        self,
        job: Job,
        text: str,
        *,
        video: Path | None = None,
        buttons: Buttons | None = None,
        embed: discord.Embed | None = None,
    ) -> Delivery | None:
        """A followup of the command; else a reply to the status message; else a DM.

        Pings the author only. The channel only where the bot may post in it and the job
        is public. Raises UploadRefused when Discord refused the video as too large.
        """
        pings = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
        )
        places: list[tuple[str, Place]] = [(FOLLOWUP, self._send_followup)]
        if job.channel_reachable:
            places.append((CHANNEL, self._send_in_channel))
        places.append((DM, self._send_dm))
        for where, place in places:
            file = discord.File(video, filename=video_filename(job.id)) if video else None
            # A view per attempt: discord.py ties a sent view to its message.
            view = buttons(where) if buttons is not None else None
            # Bounded: discord.py sleeps out any 429's retry_after, an hour if Discord says so.
            deadline = self.settings.video_download_timeout_seconds if file else self.timeout
            try:
                async with asyncio.timeout(deadline):
                    message = await place(job, text, file, pings, view, embed)
            except discord.HTTPException as exc:
                if file is not None and (exc.code == UPLOAD_TOO_LARGE or exc.status == 413):
                    raise UploadRefused from None  # the poster steps down, else links
                log.info("Job %s: %s failed (%s)", job.id, place.__name__, exc)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                # No answer: it may have been posted all the same. Look before the next
                # place posts it again (a followup has no nonce to drop a second by).
                log.info("Job %s: %s got no answer (%r)", job.id, place.__name__, exc)
                earlier = None if place == self._send_dm else await self._find_post(job)
                if earlier is not None:
                    return earlier
                continue
            finally:
                if file is not None:
                    file.close()  # a place that did not use it must not leak it
            if message is not None:
                kind: DeliveryKind = (
                    "dm" if place == self._send_dm else "upload" if file else "link"
                )
                return Delivery(message.channel.id, message.id, kind)
        log.warning(
            "Job %s: no way to reach user %d; result kept for /history", job.id, job.user_id
        )
        return None

    async def _send_in_channel(
        self,
        job: Job,
        text: str,
        file: discord.File | None,
        pings: discord.AllowedMentions,
        view: discord.ui.View | None,
        embed: discord.Embed | None = None,
    ) -> discord.Message | None:
        if job.channel_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id)
        reference = None
        if job.status_message_id is not None and job.id not in self.board.unreachable:
            reference = reply_to(job.channel_id, job.status_message_id)
        kwargs = _attached(file, view, embed, reference=reference, nonce=_nonce(job, text))
        return await channel.send(text, allowed_mentions=pings, **kwargs)

    async def _send_followup(
        self,
        job: Job,
        text: str,
        file: discord.File | None,
        pings: discord.AllowedMentions,
        view: discord.ui.View | None,
        embed: discord.Embed | None = None,
    ) -> discord.Message | None:
        session = self.board.fresh_session(job.id)
        if session is None:
            return None
        kwargs = _attached(file, view, embed)
        # Within the command's five followups; a private job's only its author sees.
        return await follow_up(
            session.interaction, text, allowed_mentions=pings, ephemeral=job.private, **kwargs
        )

    async def _send_dm(
        self,
        job: Job,
        text: str,
        file: discord.File | None,
        pings: discord.AllowedMentions,
        view: discord.ui.View | None,
        embed: discord.Embed | None = None,
    ) -> discord.Message | None:
        user = self.bot.get_user(job.user_id) or await self.bot.fetch_user(job.user_id)
        kwargs = _attached(file, view, embed, nonce=_nonce(job, text))
        return await user.send(text, allowed_mentions=pings, **kwargs)

    async def alert_operator(self, text: str) -> None:
        channel_id = self.settings.admin_channel_id
        if channel_id is not None:
            # The job it is about ends after it: a long 429 there must not hold that.
            async with asyncio.timeout(self.timeout):
                await self.bot.get_partial_messageable(channel_id).send(f"⚠️ {text}")


def _attached(
    file: discord.File | None,
    view: discord.ui.View | None,
    embed: discord.Embed | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Send options shared by every place: the video, the buttons and an embed, when there
    are any. discord.py's `send` methods take no `file=None` / `view=None` on every route.
    """
    if file is not None:
        kwargs["file"] = file
    if view is not None:
        kwargs["view"] = view
    if embed is not None:
        kwargs["embed"] = embed
    return kwargs


def _nonce(job: Job, text: str) -> str:
    """The same message of the same job gets the same nonce.

    Discord (with `enforce_nonce`, which discord.py sets) returns the existing
    message instead of posting a second one, so a crash between posting and
    recording the delivery cannot make a restart deliver twice.
    """
    digest = hashlib.blake2s(text.encode(), digest_size=6).hexdigest()
    return f"j{job.id}-{digest}"[:25]


def reply_to(channel_id: int, message_id: int) -> discord.MessageReference:
    # A deleted status message must not make the reply (and so the delivery) fail.
    return discord.MessageReference(
        message_id=message_id, channel_id=channel_id, fail_if_not_exists=False
    )
