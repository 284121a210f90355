"""Input images: checked from their real bytes and fitted into a model's bounds.

`checks` (what the bytes are), `fitting` (the size to send, the re-encode) and `bands`
(its pixels, a band of rows at a time), `prepare` (the two in order, within `budget`:
the memory every check in the process shares), `rejections` (why an image is refused,
in the reader's words), `bounds` (what is accepted), `turns` (whose image is read now:
one at a time per user), `hosting` (the copy a status message hosts). No I/O.
"""

from bot.images.checks import ImageInfo, precheck_metadata, validate_image_bytes
from bot.images.fitting import PreparedImage
from bot.images.prepare import prepare_image, prepare_within_budget
from bot.images.rejections import Figure, ImageRejected, Phrase

__all__ = [
    "Figure",
    "ImageInfo",
    "ImageRejected",
    "Phrase",
    "PreparedImage",
    "precheck_metadata",
    "prepare_image",
    "prepare_within_budget",
    "validate_image_bytes",
]
