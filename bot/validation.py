"""Checks of the input image against the model's rules, and fitting. Pure functions.

The rules (read literally, strict): width and height > 300 and < 6000 px,
aspect w/h > 0.4 and < 2.5, file < 30 MB. Everything is decided from the real
bytes; the declared content type and the filename are hints at most.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.models import ImageFacts

MIN_SIDE = 300  # exclusive
MAX_SIDE = 6000  # exclusive
MIN_ASPECT = 0.4  # exclusive
MAX_ASPECT = 2.5  # exclusive
MAX_FILE_BYTES = 30_000_000  # exclusive; "30 MB" read as the stricter decimal megabytes
# Larger attachments are not even downloaded.
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
# Below this a side is too small to enlarge into something worth animating.
MIN_FITTABLE_SIDE = 150
# Refuse anything that would decode to more pixels than this (decompression
# bombs); below Pillow's own warning threshold of ~89 Mpx.
MAX_PIXELS = 80_000_000

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
ACCEPTED = "PNG, JPEG, WebP or GIF"
BOUNDS = (
    f"more than {MIN_SIDE} and less than {MAX_SIDE} px on each side, "
    f"width/height between {MIN_ASPECT} and {MAX_ASPECT}"
)

# Targets when fitting: a margin inside the strict bounds.
_FIT_MAX_SIDE = 4096
_FIT_MIN_SIDE = 320


class ImageRejected(Exception):
    """The image cannot be used; `str()` is the message for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    size_bytes: int
    mode: str
    frames: int

    @property
    def aspect(self) -> float:
        return self.width / self.height


@dataclass(frozen=True)
class PreparedImage:
    facts: ImageFacts
    data: bytes | None  # re-encoded bytes when fitted; None: use the original as is
    content_type: str

    @property
    def fitted(self) -> bool:
        return self.data is not None


def _aspect_problem(width: int, height: int) -> ImageRejected | None:
    aspect = width / height
    if MIN_ASPECT < aspect < MAX_ASPECT:
        return None
    return ImageRejected(
        "aspect",
        f"Your image is {width}x{height} px, a width/height ratio of {aspect:.2f}; "
        f"it must be between {MIN_ASPECT} and {MAX_ASPECT} (e.g. 16:9, 1:1 or 9:16). "
        "Crop it and try again.",
    )


def _too_small(width: int, height: int) -> ImageRejected:
    return ImageRejected(
        "too_small",
        f"Your image is {width}x{height} px; it must be more than {MIN_SIDE} px on each side "
        f"(images down to {MIN_FITTABLE_SIDE} px are enlarged for you).",
    )


def precheck_metadata(
    *,
    filename: str,
    content_type: str | None,
    size: int,
    width: int | None,
    height: int | None,
) -> None:
    """Cheap check of what Discord declares, before any download.

    Only refuses what fitting cannot fix; the real bytes are checked later.
    """
    if size <= 0:
        raise ImageRejected("empty", f"That file is empty. Please attach an image ({ACCEPTED}).")
    declared = (content_type or "").split(";")[0].strip().lower()
    if (declared and not declared.startswith("image/")) or not width or not height:
        raise ImageRejected(
            "not_image",
            f"“{_short(filename)}” does not look like an image. Please attach a {ACCEPTED} file.",
        )
    if size > MAX_DOWNLOAD_BYTES:
        raise ImageRejected(
            "too_large_download",
            f"Your file is {size / 1e6:.0f} MB; I can take images up to "
            f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB (under 30 MB is sent as is).",
        )
    problem = _aspect_problem(width, height)
    if problem is not None:
        raise problem
    if min(width, height) < MIN_FITTABLE_SIDE:
        raise _too_small(width, height)


def validate_image_bytes(data: bytes) -> ImageInfo:
    """What the bytes really are; refuses non-images, unsupported formats and bombs."""
    if not data:
        raise ImageRejected("empty", f"That file is empty. Please attach an image ({ACCEPTED}).")
    try:
        # Opening reads the header only; the pixel cap is checked before any decoding.
        with Image.open(io.BytesIO(data)) as img:
            info = ImageInfo(
                format=str(img.format),
                width=img.width,
                height=img.height,
                size_bytes=len(data),
                mode=img.mode,
                frames=getattr(img, "n_frames", 1),
            )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except UnidentifiedImageError:
        raise ImageRejected(
            "not_image",
            f"That file is not an image I can read. Please attach a {ACCEPTED} file "
            "(SVG, HEIC, PDF and videos are not supported).",
        ) from None
    except (OSError, ValueError, SyntaxError):
        raise _truncated() from None
    if info.format not in FORMATS:
        raise ImageRejected(
            "unsupported_format",
            f"Your image is a {info.format} file; please attach a {ACCEPTED} file instead.",
        )
    if info.width * info.height > MAX_PIXELS:
        raise _bomb()
    return info


def prepare_image(data: bytes, *, filename: str) -> PreparedImage:
    """Check the real bytes and fit the image into the model's bounds if it can be."""
    info = validate_image_bytes(data)
    problem = _aspect_problem(info.width, info.height)
    if problem is not None:
        raise problem
    if min(info.width, info.height) < MIN_FITTABLE_SIDE:
        raise _too_small(info.width, info.height)
    frame = _decode_first_frame(data)
    needs_fit = (
        min(info.width, info.height) <= MIN_SIDE
        or max(info.width, info.height) >= MAX_SIDE
        or info.size_bytes >= MAX_FILE_BYTES
    )
    if not needs_fit:
        facts = ImageFacts(
            filename=filename,
            format=info.format,
            width=info.width,
            height=info.height,
            size_bytes=info.size_bytes,
        )
        return PreparedImage(facts=facts, data=None, content_type=FORMATS[info.format])
    return _fit(frame, info, filename)


def _decode_first_frame(data: bytes) -> Image.Image:
    """Decode fully (a truncated file fails here, not at RunComfy); GIFs: first frame."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)
            img.load()
            return ImageOps.exif_transpose(img.copy()) or img.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except (OSError, ValueError, SyntaxError):
        raise _truncated() from None


def _fit(frame: Image.Image, info: ImageInfo, filename: str) -> PreparedImage:
    width, height = frame.size
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= MIN_SIDE:
        scale = _FIT_MIN_SIDE / short_side
    elif long_side >= MAX_SIDE:
        scale = _FIT_MAX_SIDE / long_side
    else:
        scale = 1.0  # only the file is too large: re-encoding shrinks it
    # Never push the other side out of bounds (the aspect check makes this safe).
    scale = min(scale, (MAX_SIDE - 1) / long_side)
    new_size = (max(MIN_SIDE + 1, round(width * scale)), max(MIN_SIDE + 1, round(height * scale)))
    if new_size != frame.size:
        frame = frame.resize(new_size, Image.Resampling.LANCZOS)
    data, fmt = _encode(frame)
    facts = ImageFacts(
        filename=filename,
        format=fmt,
        width=frame.width,
        height=frame.height,
        size_bytes=len(data),
        fitted=True,
        original_width=info.width,
        original_height=info.height,
    )
    return PreparedImage(facts=facts, data=data, content_type=FORMATS[fmt])


def _encode(frame: Image.Image) -> tuple[bytes, str]:
    """JPEG for opaque images, PNG for transparent ones; always under the file limit."""
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info
    if has_alpha:
        out = io.BytesIO()
        frame.convert("RGBA").save(out, format="PNG", optimize=False, compress_level=6)
        if out.tell() < MAX_FILE_BYTES:
            return out.getvalue(), "PNG"
        frame = _flatten(frame)  # too large as PNG: drop transparency, use JPEG
    rgb = frame.convert("RGB")
    for quality in (90, 80, 70, 55):
        out = io.BytesIO()
        rgb.save(out, format="JPEG", quality=quality, optimize=True)
        if out.tell() < MAX_FILE_BYTES:
            return out.getvalue(), "JPEG"
    raise ImageRejected("too_large_file", "Your image could not be made smaller than 30 MB.")


def _flatten(frame: Image.Image) -> Image.Image:
    rgba = frame.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _bomb() -> ImageRejected:
    return ImageRejected(
        "bomb",
        f"Your image claims to be enormous (over {MAX_PIXELS // 1_000_000} megapixels), "
        f"so I did not open it. Please attach a normal {ACCEPTED} image.",
    )


def _truncated() -> ImageRejected:
    return ImageRejected(
        "truncated",
        "Your image seems damaged or incomplete (it could not be fully read). "
        "Please export it again and attach it.",
    )


def _short(filename: str) -> str:
    return filename if len(filename) <= 60 else filename[:57] + "…"
