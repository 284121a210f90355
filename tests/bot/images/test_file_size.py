"""File size: a picture over the limit is fitted below it, or refused unread."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest
from PIL import Image

from bot.images import prepare_image
from bot.images.bounds import MAX_DOWNLOAD_BYTES
from tests.bot.images.corpus import (
    BOUNDS,
    ORIENTATION,
    assert_sendable,
    encode,
    noise,
    noisy_png,
    prepared_ok,
    rejected,
    solid,
)


@pytest.fixture(scope="module")
def noisy_31mb_png() -> bytes:
    """A real PNG over 30 MB: 10.5 Mpx of noise."""
    data = noisy_png(3300, 3200)
    assert 31_000_000 < len(data) < MAX_DOWNLOAD_BYTES
    return data


def test_a_31mb_png_is_fitted_below_30mb(noisy_31mb_png: bytes) -> None:
    prepared = prepared_ok(noisy_31mb_png, "noise.png")
    assert "file too large" in prepared.changes
    assert prepared.facts.format == "JPEG"


def test_a_31mb_file_padded_after_a_small_png_is_fitted() -> None:
    data = solid(400, 400) + b"\x00" * 31_000_000  # decoders ignore bytes after IEND
    prepared = prepared_ok(data)
    assert prepared.changes == ("file too large",)
    assert prepared.facts.size_bytes < 100_000


def test_a_31mb_file_that_is_not_an_image_is_refused() -> None:
    assert rejected(b"\x00" * 31_000_000).code == "not_image"


def test_more_than_the_download_cap_is_refused_unread() -> None:
    assert rejected(b"\x00" * (MAX_DOWNLOAD_BYTES + 1)).code == "too_large_download"


def upside_down(img: Image.Image, fmt: str) -> bytes:
    """Any size, yet re-encoded: EXIF orientation 3 must be applied to the pixels."""
    exif = Image.Exif()
    exif[ORIENTATION] = 3
    return encode(img, fmt, exif=exif)


def test_size_limit_lowers_quality_then_size() -> None:
    data = upside_down(noise(1500, 1000), "JPEG")
    prepared = prepare_image(data, filename="n.jpg", size_limit=300_000, bounds=BOUNDS)
    assert prepared.data is not None and len(prepared.data) < 300_000
    assert prepared.facts.width < 1500  # quality alone could not do it
    assert Fraction(prepared.facts.width, prepared.facts.height) == pytest.approx(1.5, rel=0.01)
    assert_sendable(prepared)


def test_transparency_too_large_for_png_falls_back_to_webp() -> None:
    data = upside_down(noise(600, 600, "RGBA"), "PNG")
    prepared = prepare_image(data, filename="n.png", size_limit=len(data) // 2, bounds=BOUNDS)
    assert prepared.facts.format == "WEBP" and prepared.content_type == "image/webp"
    assert prepared.data is not None and len(prepared.data) < len(data) // 2
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.mode == "RGBA"
    assert_sendable(prepared)
