"""The image tests' corpus, generated in memory, and what every check expects of a result."""

from __future__ import annotations

import io
import os
import struct
import zlib
from fractions import Fraction

import pytest
from PIL import Image

from bot import i18n
from bot.images import ImageRejected, PreparedImage, prepare_image
from bot.images.bounds import FORMATS, ImageBounds
from bot.images.rejections import accepted

ORIENTATION = 0x0112


# The seed model's rules (tests/bot/models checks the model layer reads them so).
BOUNDS = ImageBounds(
    side_above=300,
    side_below=6000,
    min_aspect=Fraction(2, 5),
    max_aspect=Fraction(5, 2),
    max_file_bytes=30_000_000,
)


MAX_FILE_BYTES = 30_000_000


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def solid(width: int, height: int, fmt: str = "PNG", mode: str = "L", **params: object) -> bytes:
    """A flat image: cheap to make and to decode, whatever its size."""
    return encode(Image.new(mode, (width, height), 128), fmt, **params)


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Incompressible pixels, for file-size limits."""
    bands = len(mode)
    return Image.frombytes(mode, (width, height), os.urandom(width * height * bands))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade_png(width: int, height: int, *, pixels: bool) -> bytes:
    """A 1-bit greyscale PNG; with `pixels`, all-zero rows that compress to almost nothing."""
    idat = b""
    if pixels:
        row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then packed bits
        idat = zlib.compress(row * height, 9)
    return png_file(width, height, bit_depth=1, colour_type=0, idat=idat)


def noisy_png(width: int, height: int) -> bytes:
    """An RGB PNG of noise, zlib level 0: a real, incompressible PNG made in a blink."""
    raw = os.urandom(width * height * 3)
    stride = width * 3
    rows = b"".join(b"\x00" + raw[y * stride : (y + 1) * stride] for y in range(height))
    return png_file(width, height, bit_depth=8, colour_type=2, idat=zlib.compress(rows, 0))


def png_file(width: int, height: int, *, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header)]
    if idat:
        chunks.append(png_chunk(b"IDAT", idat))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def prepared_ok(data: bytes, filename: str = "image") -> PreparedImage:
    prepared = prepare_image(data, filename=filename, bounds=BOUNDS)
    if prepared.fitted:
        assert_sendable(prepared)
    return prepared


def rejected(data: bytes, filename: str = "image") -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        prepare_image(data, filename=filename, bounds=BOUNDS)
    assert_helpful(caught.value)
    return caught.value


def assert_helpful(exc: ImageRejected) -> None:
    """Every refusal says what was wrong and what is accepted."""
    assert str(exc) == exc.message
    assert accepted(i18n.english(), BOUNDS) in exc.message
    # Every refusal has its own French text, not English.
    french = exc.text(i18n.for_locale("fr"))
    assert french != exc.message and french.endswith(accepted(i18n.for_locale("fr"), BOUNDS))
    assert exc.message.splitlines()[0].strip()


def assert_sendable(prepared: PreparedImage) -> None:
    """Fitted bytes really decode, as one still frame, strictly inside every bound."""
    assert prepared.fitted and prepared.data is not None and prepared.facts.fitted
    assert prepared.changes
    with Image.open(io.BytesIO(prepared.data)) as img:
        img.load()
        assert img.format == prepared.facts.format
        assert FORMATS[img.format] == prepared.content_type
        assert img.size == (prepared.facts.width, prepared.facts.height)
        assert getattr(img, "n_frames", 1) == 1
        assert img.getexif().get(ORIENTATION, 1) == 1
        width, height = img.size
    assert 300 < width < 6000 and 300 < height < 6000
    assert Fraction(2, 5) < Fraction(width, height) < Fraction(5, 2)
    assert prepared.facts.size_bytes == len(prepared.data) < MAX_FILE_BYTES
    # Fitting is stable: the output is sent as is if checked again.
    assert not prepare_image(prepared.data, filename="again", bounds=BOUNDS).fitted
