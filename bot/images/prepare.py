"""From the bytes a user sent to the image a job sends: checked, then fitted if need be."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.domain import ImageFacts
from bot.images.bounds import FORMATS, MAX_FILE_BYTES
from bot.images.checks import (
    check_content,
    check_geometry,
    check_length,
    exif_orientation,
    open_image,
    read_header,
)
from bot.images.fitting import PreparedImage, fit, plan
from bot.images.rejections import animated_webp

log = logging.getLogger(__name__)


def prepare_image(data: bytes, *, filename: str, size_limit: int = MAX_FILE_BYTES) -> PreparedImage:
    """Check the real bytes and fit the image into the model's bounds when it can be.

    `size_limit` (bytes, exclusive, at most MAX_FILE_BYTES) caps re-encoded output:
    a caller that must re-host the result can pass its upload limit.
    """
    check_length(data)
    size_limit = min(size_limit, MAX_FILE_BYTES)
    with open_image(data, filename) as img:
        info = read_header(img, len(data))
        if info.animated and info.format == "WEBP":
            raise animated_webp(filename)
        check_geometry(*info.display_size)  # cheap: header only, before decoding
        target, changes = plan(info)
        if target != (info.width, info.height) and info.format == "JPEG":
            # Shrinking a big JPEG: let libjpeg decode at 1/2..1/8 scale directly.
            img.draft(None, target)
        check_content(img, info, data, filename, fitting=bool(changes))
        # A PNG's eXIf chunk may follow the pixels: only now is its orientation known.
        info = replace(info, orientation=exif_orientation(img))
        target, changes = plan(info)
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
        return fit(img, info, target, changes, filename, size_limit)
