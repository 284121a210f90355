"""The model's input image: checks from the real bytes, and fitting. Pure functions, no I/O.

RunComfy's rules for `first_frame_image_url`, read literally (strict bounds):
width and height > 300 and < 6000 px, width/height > 0.4 and < 2.5, file < 30 MB.
Everything is decided from the bytes; the declared content type and the filename
are never trusted (they only pick a friendlier wording).

Flow: `precheck_metadata` (Discord's declared facts, before downloading), then
`prepare_image` (the bytes: what they really are, fully decoded, then either passed
as is or re-encoded into the bounds). Pillow work is kept cheap: header facts and the
pixel cap come from `Image.open` before any decoding, and large JPEGs are decoded at
reduced scale with `draft()`.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from PIL import Image, ImageCms, ImageFile

from bot import i18n
from bot.i18n import Messages
from bot.models import ImageFacts

log = logging.getLogger(__name__)

# --- The model's rules (all bounds exclusive) ---------------------------------------
MIN_SIDE = 300
MAX_SIDE = 6000
MIN_ASPECT = Fraction(2, 5)  # 0.4, exact: no float rounding at the bound
MAX_ASPECT = Fraction(5, 2)  # 2.5
MAX_FILE_BYTES = 30_000_000  # "30 MB" read as the stricter decimal megabytes

# --- Our own limits ---------------------------------------------------------------
# Attachments above this are not even downloaded (30..50 MB gets re-encoded below 30).
MAX_DOWNLOAD_BYTES = 50_000_000
# A side below this is too small to enlarge into something worth animating.
MIN_FITTABLE_SIDE = 150
# Decompression-bomb cap, checked from the header before decoding. Our own number,
# below Pillow's global default (~89 Mpx), so we never depend on that global.
MAX_PIXELS = 64_000_000
# Fitting targets: a margin inside the bounds. The video is at most 1920 px on its long
# side, so 2560 px loses nothing, keeps the re-hosted file small, and lets a JPEG of
# 6000 px or more be decoded at 1/2 scale or less by draft().
FIT_MAX_SIDE = 2560
FIT_MIN_SIDE = 320

FORMATS: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
# What Pillow may raise on a file it cannot open or decode.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes PIL.UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # Pillow's "broken PNG file" and friends
    ValueError,
    TypeError,
    IndexError,
    EOFError,
    struct.error,
)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)

DECODE_BLOCK_BYTES = 4 << 20
_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transposition that shows the image upright (as ImageOps does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Figure:
    """A number users read: grouped and with `digits` decimals in their locale."""

    value: float
    digits: int = 0


class ImageRejected(Exception):
    """The image cannot be used: a catalog `key` and its values, rendered per reader.

    `str(exc)` (and `message`) is the English text, for logs and the operator.
    """

    code: str
    key: str
    values: dict[str, object]

    def __init__(self, code: str, key: str, **values: object) -> None:
        self.code = code
        self.key = key
        self.values = values
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.text(i18n.english())

    def text(self, t: Messages) -> str:
        """The problem, then what is accepted, in the reader's language."""
        return f"{t(self.key, **localized(self.values, t))}\n{accepted(t)}"


def localized(values: dict[str, object], t: Messages) -> dict[str, object]:
    """Figures as the locale writes numbers; a nested catalog key in its words."""
    shown: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, Figure):
            shown[name] = t.number(value.value, value.digits)
        elif isinstance(value, Phrase):
            shown[name] = t(value.key, **localized(value.values, t))
        else:
            shown[name] = value
    return shown


@dataclass(frozen=True)
class Phrase:
    """Part of a sentence that is itself a catalog text (a file's kind, "That file")."""

    key: str
    values: dict[str, object] = field(default_factory=dict)


def accepted(t: Messages) -> str:
    """What the model takes, and what is fitted for the user."""
    return t(
        "image.accepted",
        min_side=MIN_SIDE,
        max_side=MAX_SIDE,
        min_aspect=t.number(float(MIN_ASPECT), 1),
        max_aspect=t.number(float(MAX_ASPECT), 1),
        max_mb=MAX_FILE_BYTES // 1_000_000,
        min_fittable=MIN_FITTABLE_SIDE,
    )


@dataclass(frozen=True)
class ImageInfo:
    """What the bytes really are (first frame; pixel sizes as stored)."""

    format: str  # a key of FORMATS
    width: int
    height: int
    size_bytes: int
    mode: str
    frames: int
    orientation: int = 1  # EXIF orientation, 1 when absent

    @property
    def animated(self) -> bool:
        return self.frames > 1

    @property
    def display_size(self) -> tuple[int, int]:
        """The size as people see it, EXIF orientation applied."""
        if self.orientation in _SWAPS_SIDES:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class PreparedImage:
    facts: ImageFacts
    data: bytes | None  # re-encoded bytes when fitted (re-host them); None: send the original
    content_type: str  # of `data` if fitted, else of the original bytes
    changes: tuple[str, ...] = ()  # why it was re-encoded, e.g. ("resized",); empty if not

    @property
    def fitted(self) -> bool:
        return self.data is not None


# --- Declared metadata -------------------------------------------------------------


def precheck_metadata(
    *,
    filename: str,
    content_type: str | None,
    size: int,
    width: int | None,
    height: int | None,
) -> None:
    """Refuse, before any download, what no fitting could fix.

    These are Discord's declared facts: good enough to save a pointless download,
    never enough to accept a file (the bytes are checked later).
    """
    if size <= 0:
        raise _empty()
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared and not declared.startswith("image/"):
        raise _not_image(filename)
    if not width or not height:
        # Discord found no picture in it; name the type when it is a known one.
        kind = _DECLARED_KINDS.get(declared)
        raise _unsupported(filename, kind) if kind else _not_image(filename)
    if size > MAX_DOWNLOAD_BYTES:
        raise _too_large_download(size)
    _check_geometry(width, height)


# --- The real bytes ----------------------------------------------------------------


def validate_image_bytes(data: bytes) -> ImageInfo:
    """Inspect and fully decode the first frame; refuse non-images, damage and bombs.

    Does not judge sizes or aspect: `prepare_image` does, since those may be fitted.
    """
    _check_length(data)
    with _open(data) as img:
        info = _header(img, len(data))
        _decode(img, info)
        return replace(info, orientation=_orientation(img))


def prepare_image(data: bytes, *, filename: str, size_limit: int = MAX_FILE_BYTES) -> PreparedImage:
    """Check the real bytes and fit the image into the model's bounds when it can be.

    `size_limit` (bytes, exclusive, at most MAX_FILE_BYTES) caps re-encoded output:
    a caller that must re-host the result can pass its upload limit.
    """
    _check_length(data)
    size_limit = min(size_limit, MAX_FILE_BYTES)
    with _open(data, filename) as img:
        info = _header(img, len(data))
        if info.animated and info.format == "WEBP":
            raise _animated_webp(filename)
        _check_geometry(*info.display_size)  # cheap: header only, before decoding
        target, changes = _plan(info)
        if target != (info.width, info.height) and info.format == "JPEG":
            # Shrinking a big JPEG: let libjpeg decode at 1/2..1/8 scale directly.
            img.draft(None, target)
        _check_content(img, info, data, filename, fitting=bool(changes))
        # A PNG's eXIf chunk may follow the pixels: only now is its orientation known.
        info = replace(info, orientation=_orientation(img))
        target, changes = _plan(info)
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
        return _fit(img, info, target, changes, filename, size_limit)


# --- Opening and decoding ------------------------------------------------------------


def _check_length(data: bytes) -> None:
    if not data:
        raise _empty()
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise _too_large_download(len(data))


def _open(data: bytes, filename: str = "") -> Image.Image:
    """Open (header only) with our four formats' plugins and nothing else."""
    try:
        # Limiting the plugins keeps exotic decoders (EPS, PSD, ...) out of reach.
        img = Image.open(io.BytesIO(data), formats=tuple(FORMATS))
    except _BOMB_ERRORS:
        raise _bomb(filename, None) from None
    except _DECODE_ERRORS:
        raise _unreadable(data, filename) from None
    if img.width * img.height > MAX_PIXELS:
        size = img.size
        img.close()
        raise _bomb(filename, size)
    return img


def _header(img: Image.Image, size_bytes: int) -> ImageInfo:
    fmt = img.format or ""
    frames = getattr(img, "n_frames", 1)
    if fmt == "MPO":
        # Multi-picture JPEG (phones, 3D cameras): the first picture is a plain JPEG
        # that everything displays; the others are not animation frames.
        fmt, frames = "JPEG", 1
    return ImageInfo(
        format=fmt,
        width=img.width,
        height=img.height,
        size_bytes=size_bytes,
        mode=img.mode,
        frames=frames,
        orientation=_orientation(img),
    )


def _decode(img: Image.Image, info: ImageInfo, filename: str = "") -> None:
    """Decode the first frame for real: a damaged file fails here, not at RunComfy."""
    # Pillow feeds a decoder 64 KB at a time and takes the GIL back between blocks;
    # beside a busy event loop each take waits up to the 5 ms switch interval, so a
    # check thread crawled (a 1.1 MB JPEG: 17 ms alone, 0.6-1.2 s next to a busy
    # loop, 56-240 ms in these blocks: `benchmarks.image_check`). The bytes are in
    # memory already.
    if isinstance(img, ImageFile.ImageFile):
        img.decodermaxblock = max(img.decodermaxblock, DECODE_BLOCK_BYTES)
    try:
        img.load()
    except _BOMB_ERRORS:
        raise _bomb(filename, (info.width, info.height)) from None
    except _DECODE_ERRORS:
        raise _damaged(filename, info.format) from None


def _check_content(
    img: Image.Image, info: ImageInfo, data: bytes, filename: str, *, fitting: bool
) -> None:
    """Find damage: a plain PNG by its chunks' checksums, any other image by decoding.

    Each PNG chunk carries a CRC-32 and the file must reach IEND, so `verify()` finds a
    truncated or altered PNG in 0.04 ms where decoding an 800x600 RGB one takes 6.6
    ms (6.6 s of two cores for a 1,000-command burst). Left to RunComfy, which fails
    the job: a PNG written broken by its encoder, with valid checksums. Decoded
    anyway: a PNG being fitted (its pixels are needed) or with an eXIf chunk, which may
    follow the pixels and is only read while decoding them.
    """
    if info.format == "PNG" and not fitting and b"eXIf" not in data:
        try:
            img.verify()
        except _DECODE_ERRORS:
            raise _damaged(filename, info.format) from None
        return
    _decode(img, info, filename)


def _orientation(img: Image.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or unreadable), without forcing a decode."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1  # Pillow would decode the whole PNG to look for a late eXIf chunk
    try:
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        log.debug("Unreadable EXIF ignored", exc_info=True)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# --- Geometry ------------------------------------------------------------------------


def _check_geometry(width: int, height: int) -> None:
    """Refuse what fitting cannot fix: the aspect ratio, and sides far too small."""
    ratio = Fraction(width, height)
    if not MIN_ASPECT < ratio < MAX_ASPECT:
        exact = ratio in (MIN_ASPECT, MAX_ASPECT)
        raise ImageRejected(
            "aspect",
            "image.rejected.aspect_exact" if exact else "image.rejected.aspect",
            width=width,
            height=height,
            ratio=_ratio_figure(ratio),
            min_aspect=Figure(float(MIN_ASPECT), 1),
            max_aspect=Figure(float(MAX_ASPECT), 1),
        )
    if min(width, height) < MIN_FITTABLE_SIDE:
        raise ImageRejected(
            "too_small",
            "image.rejected.too_small",
            width=width,
            height=height,
            min_side=MIN_SIDE,
            min_fittable=MIN_FITTABLE_SIDE,
        )


def _in_bounds(width: int, height: int) -> bool:
    sides_ok = MIN_SIDE < width < MAX_SIDE and MIN_SIDE < height < MAX_SIDE
    return sides_ok and MIN_ASPECT < Fraction(width, height) < MAX_ASPECT


def _target_size(width: int, height: int, *, reencoding: bool) -> tuple[int, int]:
    """The size to send: unchanged when in bounds, else scaled to a margin inside them.

    An image re-encoded anyway (rotated, first frame...) is also brought down to
    FIT_MAX_SIDE: the model gains nothing from more, and the re-hosted file is smaller.
    """
    long_side, short_side = max(width, height), min(width, height)
    if long_side >= MAX_SIDE or (reencoding and long_side > FIT_MAX_SIDE):
        return _scaled(width, height, FIT_MAX_SIDE / long_side)
    if short_side <= MIN_SIDE:
        return _scaled(width, height, FIT_MIN_SIDE / short_side)
    return width, height


def _scaled(width: int, height: int, scale: float) -> tuple[int, int]:
    """Scale keeping the aspect ratio, then nudge by a pixel if rounding hit a bound."""
    # Limit the scale rather than clamp a side: clamping one side would distort.
    long_side, short_side = max(width, height), min(width, height)
    scale = min(max(scale, (MIN_SIDE + 1) / short_side), (MAX_SIDE - 1) / long_side)
    w = min(max(round(width * scale), MIN_SIDE + 1), MAX_SIDE - 1)
    h = min(max(round(height * scale), MIN_SIDE + 1), MAX_SIDE - 1)
    for _ in range(4):  # rounding moves the ratio by < 1 px: one nudge suffices
        ratio = Fraction(w, h)
        if ratio <= MIN_ASPECT:
            w, h = (w + 1, h) if w + 1 < MAX_SIDE else (w, h - 1)
        elif ratio >= MAX_ASPECT:
            w, h = (w, h + 1) if h + 1 < MAX_SIDE else (w - 1, h)
        else:
            break
    if not _in_bounds(w, h):  # unreachable for images that passed _check_geometry
        raise ValueError(f"cannot fit {width}x{height} at scale {scale}")
    return w, h


def _plan(info: ImageInfo) -> tuple[tuple[int, int], list[str]]:
    """The size to send (stored orientation), and why the original cannot go as is."""
    changes = []
    if info.size_bytes >= MAX_FILE_BYTES:
        changes.append("file too large")
    if info.animated:
        changes.append("first frame")  # send the still we checked, not the animation
    if info.orientation != 1:
        changes.append("rotated upright")  # EXIF rotation: raw pixels differ from display
    if info.mode in _FOREIGN_MODES:
        changes.append("converted to RGB")  # CMYK, 16-bit...: not safe for every decoder
    target = _target_size(info.width, info.height, reencoding=bool(changes))
    if target != (info.width, info.height):
        changes.insert(0, "resized")
    return target, changes


# Modes re-encoded even when nothing else needs changing (PNG's 8-bit "1", L, LA, P,
# RGB, RGBA and JPEG's L and RGB are safe to pass as they are).
_FOREIGN_MODES = frozenset(
    {"CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
)


# --- Fitting -------------------------------------------------------------------------


def _fit(
    img: Image.Image,
    info: ImageInfo,
    target: tuple[int, int],
    changes: list[str],
    filename: str,
    size_limit: int,
) -> PreparedImage:
    frame, icc = _web_mode(img)
    if frame.size != target:
        # reducing_gap: a cheap box reduce first, then Lanczos on the smaller image
        # (several times faster on big images, visually the same).
        frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    transpose = _TRANSPOSE.get(info.orientation)
    if transpose is not None:
        frame = frame.transpose(transpose)
    data, fmt, frame = _encode(frame, icc, size_limit)
    original = info.display_size
    facts = ImageFacts(
        filename=filename,
        format=fmt,
        width=frame.width,
        height=frame.height,
        size_bytes=len(data),
        fitted=True,
        original_width=original[0],
        original_height=original[1],
    )
    return PreparedImage(facts=facts, data=data, content_type=FORMATS[fmt], changes=tuple(changes))


def _web_mode(img: Image.Image) -> tuple[Image.Image, bytes | None]:
    """Convert to L, RGB or RGBA; returns the ICC profile still valid for the result."""
    mode = img.mode
    icc = img.info.get("icc_profile") or None
    if mode == "CMYK":
        return _cmyk_to_srgb(img, icc), None
    if mode.startswith("I") or mode == "F":
        # 16/32-bit grey: scale to 8 bits (a plain convert would clip at 255).
        return img.point(lambda v: v * (1 / 256)).convert("L"), icc
    if mode in ("1", "L"):
        return img.convert("L"), icc
    if mode == "RGB":
        return img, icc
    if mode in ("P", "PA", "LA", "La", "RGBA", "RGBa"):
        frame = img.convert("RGBA")
        if _is_opaque(frame):
            grey = mode in ("LA", "La")
            return frame.convert("L" if grey else "RGB"), icc
        # A grey profile does not describe an RGBA result; RGB ones still do.
        return frame, None if mode in ("LA", "La") else icc
    return img.convert("RGB"), None  # YCbCr, LAB, HSV


def _is_opaque(rgba: Image.Image) -> bool:
    low, _high = rgba.getchannel("A").getextrema()
    return bool(low == 255)


def _cmyk_to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Through the embedded profile when there is one; a naive convert loses colours."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.debug("Unusable CMYK profile; converting without it", exc_info=True)
    return img.convert("RGB")


def _encode(
    frame: Image.Image, icc: bytes | None, size_limit: int
) -> tuple[bytes, str, Image.Image]:
    """Encode below `size_limit`, lowering quality, then size, until it fits."""
    for attempt, candidate in enumerate(_shrinking(frame)):
        for fmt, params in _encoders(candidate):
            out = io.BytesIO()
            if icc:
                params = {**params, "icc_profile": icc}
            candidate.save(out, format=fmt, **params)
            if out.tell() < size_limit:
                if attempt:
                    log.debug("Shrunk to %dx%d to fit %d bytes", *candidate.size, size_limit)
                return out.getvalue(), fmt, candidate
    raise ImageRejected(
        "too_large_file", "image.rejected.too_large_file", megabytes=Figure(size_limit / 1e6, 1)
    )


def _encoders(frame: Image.Image) -> Iterator[tuple[str, dict[str, Any]]]:
    """JPEG for opaque images; PNG, then lossy WebP, when there is transparency."""
    if frame.mode == "RGBA":
        yield "PNG", {"compress_level": 6}
        for quality in (90, 80, 70):
            yield "WEBP", {"quality": quality, "method": 4}
    else:
        for quality in (90, 80, 70, 60):
            yield "JPEG", {"quality": quality}


def _shrinking(frame: Image.Image) -> Iterator[Image.Image]:
    """The frame, then smaller and smaller copies while they stay in bounds."""
    yield frame
    for _ in range(8):
        size = _scaled(frame.width, frame.height, 0.75)
        if size == frame.size:
            return
        frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        yield frame


# --- Messages ------------------------------------------------------------------------

# Declared types Discord cannot measure, named so the user knows what to convert.
_DECLARED_KINDS = {
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "image/avif": "AVIF",
    "image/svg+xml": "SVG",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
    "image/x-icon": "ICO",
    "image/vnd.adobe.photoshop": "PSD",
    "image/jxl": "JPEG XL",
}
_ISO_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"%PDF-", "PDF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"BM", "BMP"),
)


def _sniff(data: bytes) -> str | None:
    """Name the file's real kind from its first bytes, for the error message only."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12], "video")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in text:
        return "SVG"
    return None


def _unreadable(data: bytes, filename: str) -> ImageRejected:
    """Pillow could not open it: damaged (one of ours), another format, or no image."""
    kind = _sniff(data)
    if kind in FORMATS:
        return _damaged(filename, kind)
    if kind is not None:
        return _unsupported(filename, kind)
    return _not_image(filename)


def _empty() -> ImageRejected:
    return ImageRejected("empty", "image.rejected.empty")


def _not_image(filename: str) -> ImageRejected:
    return ImageRejected("not_image", "image.rejected.not_image", file=_quoted(filename))


def _unsupported(filename: str, kind: str) -> ImageRejected:
    if kind == "video":
        what = Phrase("image.kind.video")
    else:
        what = Phrase("image.kind.an" if kind in _AN_KINDS else "image.kind.a", {"kind": kind})
    return ImageRejected(
        "unsupported_format", "image.rejected.unsupported", file=_quoted(filename), kind=what
    )


def _animated_webp(filename: str) -> ImageRejected:
    # Only GIFs are promised "first frame"; an animated WebP is usually a sticker or
    # a clip, and silently animating its first frame would surprise its sender.
    return ImageRejected("animated", "image.rejected.animated", file=_quoted(filename))


def _damaged(filename: str, fmt: str) -> ImageRejected:
    return ImageRejected(
        "truncated",
        "image.rejected.damaged",
        file=_quoted(filename),
        format=_FORMAT_NAMES.get(fmt, fmt),
    )


def _bomb(filename: str, size: tuple[int, int] | None) -> ImageRejected:
    limit = MAX_PIXELS // 1_000_000
    if size is None:
        return ImageRejected(
            "bomb", "image.rejected.bomb_unknown", file=_quoted(filename), limit=limit
        )
    return ImageRejected(
        "bomb",
        "image.rejected.bomb",
        file=_quoted(filename),
        width=size[0],
        height=size[1],
        megapixels=Figure(size[0] * size[1] / 1e6),
        limit=limit,
    )


def _too_large_download(size: int) -> ImageRejected:
    return ImageRejected(
        "too_large_download",
        "image.rejected.too_large_download",
        megabytes=Figure(size / 1e6, 1),
        limit=MAX_DOWNLOAD_BYTES // 1_000_000,
        max_mb=MAX_FILE_BYTES // 1_000_000,
    )


_FORMAT_NAMES = {"WEBP": "WebP"}
_AN_KINDS = frozenset({"SVG", "AVIF", "ICO"})  # "an SVG file"


def _ratio_figure(ratio: Fraction) -> Figure:
    """The ratio, never printed as the bound it just missed ("2.50 is not < 2.5")."""
    if ratio in (MIN_ASPECT, MAX_ASPECT):
        return Figure(float(ratio), 1)  # the "exactly" text says it is the bound
    digits = 2 if Fraction(f"{float(ratio):.2f}") not in (MIN_ASPECT, MAX_ASPECT) else 4
    return Figure(float(ratio), digits)


def _quoted(filename: str) -> str | Phrase:
    """The filename as inline code: Discord markdown in names cannot garble the message."""
    name = filename.replace("`", "'").replace("\n", " ").strip()
    if not name:
        return Phrase("image.unnamed_file")
    if len(name) > 60:
        name = name[:57] + "..."
    return f"`{name}`"
