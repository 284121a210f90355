"""Why an image is refused, in words each reader reads in their own language.

Pure: a refusal is a catalog key and its values; `ImageRejected.text(t)` renders it.
The helpers at the bottom build each refusal (the file's real kind, sniffed from its
first bytes, only picks a friendlier wording).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from bot import i18n
from bot.i18n import Messages
from bot.images.bounds import (
    FORMATS,
    MAX_DOWNLOAD_BYTES,
    MAX_PIXELS,
    MIN_FITTABLE_SIDE,
    ImageBounds,
)


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
        # The model's bounds, set by the check that refused: what it accepts follows.
        self.bounds: ImageBounds | None = None
        super().__init__(code)

    def __str__(self) -> str:
        return self.message

    @property
    def message(self) -> str:
        return self.text(i18n.english())

    def text(self, t: Messages) -> str:
        """The problem, then what is accepted, in the reader's language."""
        problem = t(self.key, **localized(self.values, t))
        return problem if self.bounds is None else f"{problem}\n{accepted(t, self.bounds)}"


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


@contextlib.contextmanager
def refusing_for(bounds: ImageBounds) -> Iterator[None]:
    """Refusals raised in the block say what `bounds` accept."""
    try:
        yield
    except ImageRejected as exc:
        exc.bounds = exc.bounds or bounds
        raise


@dataclass(frozen=True)
class Phrase:
    """Part of a sentence that is itself a catalog text (a file's kind, "That file")."""

    key: str
    values: dict[str, object] = field(default_factory=dict)


def accepted(t: Messages, bounds: ImageBounds) -> str:
    """What the model takes, and what is fitted for the user, from its bounds."""
    rules = []
    above, below = bounds.side_above, bounds.side_below
    if above and below is not None:
        rules.append(t("image.rule.sides", min_side=above, max_side=below))
    elif above:
        rules.append(t("image.rule.sides_above", min_side=above))
    elif below is not None:
        rules.append(t("image.rule.sides_below", max_side=below))
    low, high = bounds.min_aspect, bounds.max_aspect
    if low is not None and high is not None:
        rules.append(t("image.rule.aspect", min_aspect=aspect_text(low, t),
                       max_aspect=aspect_text(high, t)))  # fmt: skip
    elif low is not None:
        rules.append(t("image.rule.aspect_above", min_aspect=aspect_text(low, t)))
    elif high is not None:
        rules.append(t("image.rule.aspect_below", max_aspect=aspect_text(high, t)))
    if bounds.max_file_bytes is not None:
        rules.append(t("image.rule.file", max_mb=megabytes_text(bounds.max_file_bytes, t)))
    fitted = t("image.rule.fitted", min_fittable=MIN_FITTABLE_SIDE)
    return t("image.accepted", rules=t("image.rule.separator").join(rules), fitted=fitted)


def aspect_text(ratio: Fraction, t: Messages) -> str:
    """An aspect bound as the schema wrote it: 4, 0.4, 2.5, 0.5625."""
    return t.number(float(ratio), aspect_digits(ratio))


def aspect_digits(ratio: Fraction) -> int:
    """Decimals that write an aspect bound exactly (4: 0; 0.4: 1; 0.5625: 4)."""
    return next((d for d in range(5) if Fraction(f"{float(ratio):.{d}f}") == ratio), 4)


def megabytes_text(size_bytes: int, t: Messages) -> str:
    """A decimal megabyte figure as the schema wrote it: 30, 4.5."""
    mb = size_bytes / 1_000_000
    return t.number(mb, 0 if mb == int(mb) else 1)


# Declared types Discord cannot measure, named so the user knows what to convert.
DECLARED_KINDS = {
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


def unreadable(data: bytes, filename: str) -> ImageRejected:
    """Pillow could not open it: damaged (one of ours), another format, or no image."""
    kind = _sniff(data)
    if kind in FORMATS:
        return damaged(filename, kind)
    if kind is not None:
        return unsupported(filename, kind)
    return not_image(filename)


def empty() -> ImageRejected:
    return ImageRejected("empty", "image.rejected.empty")


def not_image(filename: str) -> ImageRejected:
    return ImageRejected("not_image", "image.rejected.not_image", file=_quoted(filename))


def unsupported(filename: str, kind: str) -> ImageRejected:
    if kind == "video":
        what = Phrase("image.kind.video")
    else:
        what = Phrase("image.kind.an" if kind in _AN_KINDS else "image.kind.a", {"kind": kind})
    return ImageRejected(
        "unsupported_format", "image.rejected.unsupported", file=_quoted(filename), kind=what
    )


def animated_webp(filename: str) -> ImageRejected:
    # Only GIFs are promised "first frame"; an animated WebP is usually a sticker or
    # a clip, and silently animating its first frame would surprise its sender.
    return ImageRejected("animated", "image.rejected.animated", file=_quoted(filename))


def damaged(filename: str, fmt: str) -> ImageRejected:
    return ImageRejected(
        "truncated",
        "image.rejected.damaged",
        file=_quoted(filename),
        format=_FORMAT_NAMES.get(fmt, fmt),
    )


def bomb(filename: str, size: tuple[int, int] | None) -> ImageRejected:
    limit = MAX_PIXELS // 1_000_000
    if size is None:
        return ImageRejected(
            "bomb", "image.rejected.bomb_unknown", file=_quoted(filename), limit=limit
        )
    return ImageRejected(
        "bomb",
        "image.rejected.bomb",
        file=_quoted(filename),
        limit=limit,
        **_pixel_size(size),
    )


def too_big_to_open(filename: str, size: tuple[int, int]) -> ImageRejected:
    """Under the pixel cap, yet decoding and fitting it would need more than the budget."""
    return ImageRejected(
        "too_big_to_open",
        "image.rejected.too_big_to_open",
        file=_quoted(filename),
        **_pixel_size(size),
    )


def _pixel_size(size: tuple[int, int]) -> dict[str, object]:
    """An image's width, height and megapixels, as the refusals about its size name them."""
    width, height = size
    return {"width": width, "height": height, "megapixels": Figure(width * height / 1e6)}


def busy() -> ImageRejected:
    """No room to open it came in time: nothing wrong with the image, so no rules follow."""
    return ImageRejected("busy", "image.rejected.busy")


def too_large_download(size: int, bounds: ImageBounds) -> ImageRejected:
    shrunk_below = bounds.max_file_bytes or MAX_DOWNLOAD_BYTES
    return ImageRejected(
        "too_large_download",
        "image.rejected.too_large_download",
        megabytes=Figure(size / 1e6, 1),
        limit=MAX_DOWNLOAD_BYTES // 1_000_000,
        max_mb=Figure(shrunk_below / 1e6, 0 if shrunk_below % 1_000_000 == 0 else 1),
    )


_FORMAT_NAMES = {"WEBP": "WebP"}
_AN_KINDS = frozenset({"SVG", "AVIF", "ICO"})  # "an SVG file"


def ratio_figure(ratio: Fraction, bounds: ImageBounds) -> Figure:
    """The ratio, never printed as the bound it just missed ("2.50 is not < 2.5")."""
    limits = {bounds.min_aspect, bounds.max_aspect} - {None}
    if ratio in limits:
        return Figure(float(ratio), 1)  # the "exactly" text says it is the bound
    digits = 2 if Fraction(f"{float(ratio):.2f}") not in limits else 4
    return Figure(float(ratio), digits)


def _quoted(filename: str) -> str | Phrase:
    """The filename as inline code: Discord markdown in names cannot garble the message."""
    name = filename.replace("`", "'").replace("\n", " ").strip()
    if not name:
        return Phrase("image.unnamed_file")
    if len(name) > 60:
        name = name[:57] + "..."
    return f"`{name}`"
