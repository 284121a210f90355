"""From the bytes a user sent to the image a job sends: checked, then fitted if need be.

`prepare_image` does the work; `prepare_within_budget` runs it in a worker thread once
the process's budget of decoded pixels has room for what its header says it will hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace

from PIL import Image

from bot.domain import ImageFacts
from bot.images.bands import stored_bytes, working_bytes
from bot.images.bounds import FORMATS, MAX_DOWNLOAD_BYTES, ImageBounds
from bot.images.budget import (
    BUDGET_WAIT_SECONDS,
    DECODING,
    GIVE_BACK_ABOVE_BYTES,
    PixelBudget,
    give_back_freed_memory,
)
from bot.images.checks import (
    DECODE_BLOCK_BYTES,
    ImageInfo,
    check_content,
    check_geometry,
    check_length,
    exif_orientation,
    open_image,
    read_header,
)
from bot.images.fitting import PreparedImage, fit, plan, target_size
from bot.images.rejections import animated_webp, busy, refusing_for, too_big_to_open

log = logging.getLogger(__name__)


def prepare_image(
    data: bytes, *, filename: str, bounds: ImageBounds, size_limit: int | None = None
) -> PreparedImage:
    """Check the real bytes and fit the image into the model's `bounds` when it can be.

    `size_limit` (bytes, exclusive) caps re-encoded output below the model's own file
    limit: a caller that must re-host the result can pass its upload limit.
    """
    with refusing_for(bounds):
        return _prepare(data, filename, bounds, size_limit)


async def prepare_within_budget(
    data: bytes,
    *,
    filename: str,
    bounds: ImageBounds,
    size_limit: int | None = None,
    budget: PixelBudget = DECODING,
    within: float = BUDGET_WAIT_SECONDS,
) -> PreparedImage:
    """`prepare_image` in a worker thread, holding its peak memory from `budget`.

    Refuses what could never fit the budget, and asks the author to try again when no
    room came `within` seconds.
    """
    demand = await asyncio.to_thread(decoding_demand, data, filename=filename, bounds=bounds)
    if not budget.fits(demand.peak_bytes):
        with refusing_for(bounds):
            raise too_big_to_open(filename, (demand.width, demand.height))
    async with contextlib.AsyncExitStack() as held:
        if demand.peak_bytes:
            try:
                await held.enter_async_context(budget.reserve(demand.peak_bytes, within=within))
            except TimeoutError:
                raise busy() from None
        giving_back = demand.peak_bytes > GIVE_BACK_ABOVE_BYTES
        work = asyncio.ensure_future(
            asyncio.to_thread(
                _prepare_then_give_back, data, filename, bounds, size_limit, giving_back
            )
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait({work})  # the thread runs on: its memory stays reserved
            raise


def _prepare_then_give_back(
    data: bytes, filename: str, bounds: ImageBounds, size_limit: int | None, give_back: bool
) -> PreparedImage:
    try:
        return prepare_image(data, filename=filename, bounds=bounds, size_limit=size_limit)
    finally:
        if give_back:
            give_back_freed_memory()


def _prepare(
    data: bytes, filename: str, bounds: ImageBounds, size_limit: int | None
) -> PreparedImage:
    check_length(data, bounds)
    limits = [bounds.max_file_bytes or MAX_DOWNLOAD_BYTES]
    if size_limit is not None:
        limits.append(size_limit)
    with open_image(data, filename) as img:
        info, target, changes = _planned(img, data, filename, bounds)
        check_content(img, info, data, filename, fitting=bool(changes))
        # A PNG's eXIf chunk may follow the pixels: only now is its orientation known.
        info = replace(info, orientation=exif_orientation(img))
        target, changes = plan(info, bounds)
        display = info.display_size
        if not changes:
            facts = ImageFacts(
                filename=filename,
                format=info.format,
                width=display[0],
                height=display[1],
                size_bytes=info.size_bytes,
                original_width=display[0],
                original_height=display[1],
            )
            return PreparedImage(facts=facts, data=None, content_type=FORMATS[info.format])
        log.debug("Fitting %r (%s %dx%d): %s", filename, info.format, *display, changes)
        return fit(img, info, target, changes, filename, bounds=bounds, size_limit=min(limits))


def _planned(
    img: Image.Image, data: bytes, filename: str, bounds: ImageBounds
) -> tuple[ImageInfo, tuple[int, int], list[str]]:
    """From the header: what the image is, the size to send, and why it must change."""
    info = read_header(img, len(data))
    if info.animated and info.format == "WEBP":
        raise animated_webp(filename)
    check_geometry(*info.display_size, bounds)  # cheap: header only, before decoding
    target, changes = plan(info, bounds)
    if target != (info.width, info.height) and info.format == "JPEG":
        # Shrinking a big JPEG: let libjpeg decode at 1/2..1/8 scale directly.
        img.draft(None, target)
    return info, target, changes


# --- Memory ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """What preparing an image holds at its peak, known from its header."""

    width: int
    height: int
    peak_bytes: int  # 0: checked without decoding


def decoding_demand(data: bytes, *, filename: str, bounds: ImageBounds) -> Demand:
    """The bytes `prepare_image` will hold at its peak, from the header alone.

    Refuses, as `prepare_image` would, what the header already condemns.
    """
    with refusing_for(bounds):
        check_length(data, bounds)
        with open_image(data, filename) as img:
            info, target, changes = _planned(img, data, filename, bounds)
            peak = _peak_bytes(img, info, (target, changes), data, bounds)
            return Demand(info.width, info.height, peak)


def _peak_bytes(
    img: Image.Image,
    info: ImageInfo,
    planned: tuple[tuple[int, int], list[str]],
    data: bytes,
    bounds: ImageBounds,
) -> int:
    """Decoding (at the drafted size), then fitting's bands beside the decoded image."""
    target, changes = planned
    late_orientation = info.format == "PNG" and b"eXIf" in data
    if not changes and info.format == "PNG" and not late_orientation:
        return 0  # its chunks' checksums are checked, the pixels never decoded
    width, height = img.size  # a JPEG's drafted size
    pixels = width * height
    stored = pixels * stored_bytes(img.mode)
    # What the decoder reads at a time, and its own state (tables, a few rows).
    reading = min(len(data), DECODE_BLOCK_BYTES) + _DECODER_STATE_BYTES
    if info.format == "WEBP":
        # Pillow's WebP decoder: a copy of the file, its canvas, the frame's bytes and
        # lossy WebP's YUV planes beside the image while decoding (18 bytes a pixel,
        # measured); the canvas and the frame's bytes stay until it is closed.
        decoding, held = len(data) + 18 * pixels, len(data) + 12 * pixels
    else:
        decoding = held = stored
    if not changes and not late_orientation:
        return reading + decoding
    if not changes:  # turned upright once decoded, and brought to the fitting sides
        target = target_size(width, height, bounds, reencoding=True)
    return reading + max(decoding, held + working_bytes(img.size, img.mode, target))


_DECODER_STATE_BYTES = 2 << 20
