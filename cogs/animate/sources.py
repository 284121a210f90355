"""Where a new job's image comes from: an attachment, or the copy a status message hosts.

Every read checks the real bytes within the process's decoding budget
(`bot.images.prepare_within_budget`); the starter reads them one at a time per user
(`bot.images.turns`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import aiohttp
import discord

from bot.domain import Job
from bot.images import PreparedImage, prepare_within_budget
from bot.images.bounds import ImageBounds
from cogs.animate.rendering import hosted_filename
from cogs.animate.replies import IMAGE_UNREACHABLE

log = logging.getLogger(__name__)


class ImageUnreadable(Exception):
    """The image could not be read (a failed download, a video without a last frame)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key  # catalog key of what the author reads


@dataclass(frozen=True)
class ImageSource:
    """Where a new job's image comes from."""

    # The image checked against a model's bounds, and the bytes read; raises
    # ImageRejected or ImageUnreadable.
    read: Callable[[ImageBounds], Awaitable[tuple[PreparedImage, bytes]]]
    # What RunComfy fetches when the bot does not host a fitted copy; "" when it must.
    url: str


def attachment_source(
    image: discord.Attachment, *, user_id: int, download_seconds: float
) -> ImageSource:
    """`image`, downloaded within `download_seconds`, then checked."""
    return ImageSource(
        partial(read_attachment, image, user_id=user_id, download_seconds=download_seconds),
        image.url,
    )


async def read_attachment(
    image: discord.Attachment, bounds: ImageBounds, *, user_id: int, download_seconds: float
) -> tuple[PreparedImage, bytes]:
    try:
        # Bounded: a stalled download must not hold one of the few reading slots.
        async with asyncio.timeout(download_seconds):
            data = await image.read()
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
        log.warning("Could not download the image of user %s", user_id)
        raise ImageUnreadable(IMAGE_UNREACHABLE) from None
    # In a worker thread once the process's memory for decoding has room for it.
    prepared = await prepare_within_budget(data, filename=image.filename, bounds=bounds)
    return prepared, data


async def hosted_image(bot: discord.Client, job: Job) -> discord.Attachment | None:
    """The input image `job`'s status message hosts, if it can still be read."""
    name = hosted_filename(job)
    if name is None or job.channel_id is None or job.status_message_id is None:
        return None
    if not job.channel_reachable:
        return None  # only its command's token could read its status message
    channel = bot.get_partial_messageable(job.channel_id)
    try:
        message = await channel.fetch_message(job.status_message_id)
    except discord.HTTPException:
        return None
    return next((a for a in message.attachments if a.filename == name), None)
