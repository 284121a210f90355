"""Image validation and fitting over a corpus the tests generate."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from bot.validation import (
    MAX_FILE_BYTES,
    ImageRejected,
    precheck_metadata,
    prepare_image,
    validate_image_bytes,
)


def encode(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    colour = (40, 90, 160, 128) if mode == "RGBA" else (40, 90, 160)
    return encode(Image.new(mode, (width, height), colour[: len(mode)]))


def decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size


def rejected(data: bytes, filename: str = "x.png") -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        prepare_image(data, filename=filename)
    return caught.value


@pytest.mark.parametrize(
    ("size", "fitted"),
    [
        ((301, 301), False),
        ((300, 400), True),  # 300 is not "more than 300": enlarged
        ((400, 300), True),
        ((5999, 3000), False),
        ((6000, 3000), True),  # 6000 is not "less than 6000": shrunk
        ((3000, 6000), True),
        ((200, 200), True),
    ],
)
def test_side_bounds_on_both_sides(size: tuple[int, int], fitted: bool) -> None:
    prepared = prepare_image(png(*size), filename="b.png")
    assert prepared.fitted is fitted
    if fitted:
        assert prepared.data is not None
        width, height = decoded_size(prepared.data)
        assert 300 < width < 6000 and 300 < height < 6000
        assert (prepared.facts.width, prepared.facts.height) == (width, height)
        assert (prepared.facts.original_width, prepared.facts.original_height) == size
        # The shape is kept.
        assert abs(width / height - size[0] / size[1]) < 0.01
    else:
        assert prepared.data is None and (prepared.facts.width, prepared.facts.height) == size


@pytest.mark.parametrize("size", [(1000, 400), (400, 1000), (2500, 1000), (1000, 2500)])
def test_aspect_at_the_edges_is_refused(size: tuple[int, int]) -> None:
    error = rejected(png(*size))
    assert error.code == "aspect"
    assert f"{size[0]}x{size[1]}" in str(error) and "0.4" in str(error) and "2.5" in str(error)


@pytest.mark.parametrize("size", [(1000, 410), (410, 1000), (2490, 1000), (1000, 2490)])
def test_aspect_just_inside_is_accepted(size: tuple[int, int]) -> None:
    assert prepare_image(png(*size), filename="a.png").data is None


def test_too_small_to_enlarge_says_the_size() -> None:
    error = rejected(png(120, 140))
    assert error.code == "too_small" and "120x140" in str(error) and "300" in str(error)


def test_renamed_text_file() -> None:
    error = rejected(b"hello, this is not a picture\n" * 20, filename="cat.png")
    assert error.code == "not_image" and "PNG, JPEG, WebP or GIF" in str(error)


def test_zero_byte_file() -> None:
    assert rejected(b"").code == "empty"


def test_truncated_png() -> None:
    data = encode(Image.effect_noise((800, 600), 60).convert("RGB"))
    assert rejected(data[: len(data) // 2]).code == "truncated"


def test_decompression_bomb_is_refused_without_decoding() -> None:
    # A valid PNG header claiming 100,000 x 100,000 px with almost no data.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )
    assert rejected(bomb).code == "bomb"


def test_31_mb_image_is_fitted_below_30_mb() -> None:
    # Noise does not compress: a 31+ MB PNG that must be re-encoded.
    noise = Image.frombytes("RGB", (3400, 3100), os.urandom(3400 * 3100 * 3))
    data = encode(noise, compress_level=0)
    assert len(data) > 31_000_000
    prepared = prepare_image(data, filename="noise.png")
    assert prepared.fitted and prepared.data is not None
    assert len(prepared.data) < MAX_FILE_BYTES
    assert prepared.facts.format == "JPEG"


def test_31_mb_file_that_is_not_an_image() -> None:
    assert rejected(b"\x00" * 31_000_000).code == "not_image"


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (500, 400), colour) for colour in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    info = validate_image_bytes(out.getvalue())
    assert info.format == "GIF" and info.frames == 3
    assert prepare_image(out.getvalue(), filename="a.gif").data is None


def test_cmyk_jpeg_is_accepted_and_fits_as_rgb() -> None:
    cmyk = Image.new("CMYK", (7000, 3500), (0, 128, 255, 0))
    prepared = prepare_image(encode(cmyk, "JPEG"), filename="print.jpg")
    assert prepared.fitted and prepared.data is not None
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert out.mode == "RGB" and out.format == "JPEG"


def test_png_with_alpha_keeps_transparency_when_fitted() -> None:
    prepared = prepare_image(png(250, 250, "RGBA"), filename="logo.png")
    assert prepared.data is not None and prepared.facts.format == "PNG"
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert out.mode == "RGBA"
    assert prepare_image(png(400, 400, "RGBA"), filename="logo.png").data is None


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="800"/>',
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100,
    ],
    ids=["svg", "pdf", "heic"],
)
def test_other_formats_are_refused_with_what_is_accepted(data: bytes) -> None:
    error = rejected(data)
    assert error.code == "not_image" and "PNG, JPEG, WebP or GIF" in str(error)


def test_unsupported_real_image_format() -> None:
    error = rejected(encode(Image.new("RGB", (500, 500)), "BMP"), filename="a.bmp")
    assert error.code == "unsupported_format" and "BMP" in str(error)


def test_webp_is_accepted() -> None:
    assert (
        prepare_image(encode(Image.new("RGB", (640, 480)), "WEBP"), filename="a.webp").data is None
    )


class TestPrecheck:
    def ok(self, **overrides: object) -> None:
        values: dict[str, object] = {
            "filename": "a.png",
            "content_type": "image/png",
            "size": 1000,
            "width": 800,
            "height": 600,
        }
        precheck_metadata(**{**values, **overrides})  # type: ignore[arg-type]

    def test_accepts_plain_and_fixable_images(self) -> None:
        self.ok()
        self.ok(width=8000, height=6000, size=40_000_000)  # fitted later
        self.ok(content_type=None)  # clients do not always say

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"content_type": "text/plain"}, "not_image"),
            ({"content_type": "application/pdf", "width": None, "height": None}, "not_image"),
            ({"width": None, "height": None}, "not_image"),
            ({"width": 1000, "height": 400}, "aspect"),
            ({"size": 60 * 1024 * 1024}, "too_large_download"),
            ({"size": 0}, "empty"),
            ({"width": 100, "height": 100}, "too_small"),
        ],
    )
    def test_refuses_what_cannot_be_fixed(self, overrides: dict[str, object], code: str) -> None:
        with pytest.raises(ImageRejected) as caught:
            self.ok(**overrides)
        assert caught.value.code == code
