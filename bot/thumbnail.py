"""A small preview of the input image, attached to the status message.

The option attachment's CDN URL expires and must not be stored, so the status
embed shows a copy the bot uploads itself: it survives restarts and edits.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

THUMBNAIL_SIDE = 320


def make_thumbnail(data: bytes, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """JPEG no larger than `side` px on its longer side (input already validated)."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (side, side))  # JPEG decodes at a fraction of the size: fast
        img.seek(0)
        frame = ImageOps.exif_transpose(img)
        frame.thumbnail((side, side))
        if frame.mode not in ("RGB", "L"):
            background = Image.new("RGB", frame.size, (255, 255, 255))
            rgba = frame.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            frame = background
        out = io.BytesIO()
        frame.save(out, format="JPEG", quality=80, optimize=True)
        return out.getvalue()
