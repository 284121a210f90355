"""From the bytes a user sent to the image a job sends: checked, then fitted if need be."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.domain import ImageFacts
from bot.images.bounds import FORMATS, MAX_DOWNLOAD_BYTES, ImageBounds
from bot.images.checks import (
    check_content,
    check_geometry,
    check_length,
    exif_orientation,
    open_image,
    read_header,
)
from bot.images.fitting import PreparedImage, fit, plan
from bot.images.rejections import animated_webp, refusing_for

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


def _prepare(
    data: bytes, filename: str, bounds: ImageBounds, size_limit: int | None
) -> PreparedImage:
    check_length(data, bounds)
    limits = [bounds.max_file_bytes or MAX_DOWNLOAD_BYTES]
    if size_limit is not None:
        limits.append(size_limit)
    with open_image(data, filename) as img:
        info = read_header(img, len(data))
        if info.animated and info.format == "WEBP":
            raise animated_webp(filename)
        check_geometry(*info.display_size, bounds)  # cheap: header only, before decoding
        target, changes = plan(info, bounds)
        if target != (info.width, info.height) and info.format == "JPEG":
            # Shrinking a big JPEG: let libjpeg decode at 1/2..1/8 scale directly.
            img.draft(None, target)
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
