"""Frames, colour modes and orientation: what is sent is one upright still frame."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.images import ImageRejected, prepare_image, validate_image_bytes
from bot.images.bounds import FIT_MAX_SIDE
from tests.bot.images.corpus import BOUNDS, ORIENTATION, encode, prepared_ok, rejected, solid


def frames(*colours: str) -> list[Image.Image]:
    return [Image.new("RGB", (400, 400), colour) for colour in colours]


def test_an_animated_webp_is_refused() -> None:
    first, *rest = frames("red", "blue")
    data = encode(first, "WEBP", save_all=True, append_images=rest, duration=100)
    with pytest.raises(ImageRejected) as caught:
        prepare_image(data, filename="sticker.webp", bounds=BOUNDS)
    assert caught.value.code == "animated" and "still image" in caught.value.message


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_animations_send_their_first_frame_as_a_still(fmt: str) -> None:
    first, *rest = frames("red", "blue", "green")
    data = encode(first, fmt, save_all=True, append_images=rest, duration=100)
    assert validate_image_bytes(data).frames == 3
    prepared = prepared_ok(data, f"anim.{fmt.lower()}")
    assert prepared.changes == ("first frame",)
    assert prepared.data is not None
    with Image.open(io.BytesIO(prepared.data)) as img:
        red, green, blue = img.convert("RGB").getpixel((200, 200))  # type: ignore[misc]
    assert red > 200 and green < 40 and blue < 40


def test_a_still_gif_is_sent_as_is() -> None:
    prepared = prepared_ok(encode(frames("red")[0], "GIF"))
    assert not prepared.fitted and prepared.content_type == "image/gif"


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (400, 400), (0, 255, 255, 0))  # red in ink
    prepared = prepared_ok(encode(cmyk, "JPEG", icc_profile=b"not a real profile"))
    assert prepared.changes == ("converted to RGB",)
    assert prepared.data is not None
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.mode == "RGB"
        red, green, blue = img.getpixel((200, 200))  # type: ignore[misc]
    assert red > 230 and green < 30 and blue < 30


def test_a_big_cmyk_jpeg_is_drafted_converted_and_fitted() -> None:
    cmyk = Image.new("CMYK", (6400, 2600), (0, 128, 255, 0))
    prepared = prepared_ok(encode(cmyk, "JPEG"), "print.jpg")
    assert prepared.changes == ("resized", "converted to RGB")
    assert prepared.facts.width == FIT_MAX_SIDE


def test_png_with_alpha_passes_as_is_and_keeps_alpha_when_fitted() -> None:
    translucent = Image.new("RGBA", (400, 400), (255, 0, 0, 128))
    assert not prepared_ok(encode(translucent, "PNG")).fitted
    small = prepared_ok(encode(translucent.resize((300, 300)), "PNG"))
    assert small.facts.format == "PNG" and small.data is not None
    with Image.open(io.BytesIO(small.data)) as img:
        assert img.mode == "RGBA" and img.getpixel((10, 10))[3] == 128  # type: ignore[index]


def test_an_opaque_rgba_png_is_fitted_as_jpeg() -> None:
    opaque = Image.new("RGBA", (300, 300), (0, 0, 255, 255))
    assert prepared_ok(encode(opaque, "PNG")).facts.format == "JPEG"


def test_a_palette_gif_with_transparency_keeps_it_when_fitted() -> None:
    img = Image.new("P", (200, 200), 0)
    img.putpalette([255, 0, 0] + [0, 0, 0] * 255)
    prepared = prepared_ok(encode(img, "GIF", transparency=0))
    assert prepared.facts.format == "PNG"


def test_exif_orientation_is_applied() -> None:
    # Stored 400x600, top half blue; orientation 6 shows it rotated 90 degrees clockwise.
    stored = Image.new("RGB", (400, 600), "red")
    stored.paste((0, 0, 255), (0, 0, 400, 300))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = encode(stored, "JPEG", exif=exif)
    info = validate_image_bytes(data)
    assert (info.width, info.height, info.orientation) == (400, 600, 6)
    prepared = prepared_ok(data, "phone.jpg")
    assert prepared.changes == ("rotated upright",)
    assert (prepared.facts.width, prepared.facts.height) == (600, 400)
    assert (prepared.facts.original_width, prepared.facts.original_height) == (600, 400)
    assert prepared.data is not None
    with Image.open(io.BytesIO(prepared.data)) as img:
        left, right = img.getpixel((20, 200)), img.getpixel((580, 200))
    assert left[0] > 200 and right[2] > 200  # type: ignore[index]


def test_aspect_is_judged_as_displayed() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    exc = rejected(solid(1000, 399, "JPEG", exif=exif))
    assert exc.code == "aspect" and "399×1000 px" in exc.message


def test_a_big_jpeg_is_drafted_down_then_fitted() -> None:
    prepared = prepared_ok(solid(7000, 3000, "JPEG", mode="RGB"), "big.jpg")
    assert (prepared.facts.width, prepared.facts.height) == (FIT_MAX_SIDE, 1097)
    assert (prepared.facts.original_width, prepared.facts.original_height) == (7000, 3000)


def test_a_multi_picture_jpeg_is_a_jpeg() -> None:
    first, second = frames("red", "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second])
    prepared = prepared_ok(data, "camera.jpg")
    assert not prepared.fitted and prepared.facts.format == "JPEG"


def test_16_bit_png_is_scaled_not_clipped() -> None:
    prepared = prepared_ok(encode(Image.new("I;16", (400, 400), 40_000), "PNG"))
    assert prepared.changes == ("converted to RGB",)
    assert prepared.data is not None
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert abs(img.getpixel((5, 5)) - 40_000 // 256) <= 2  # type: ignore[operator]


def test_validate_image_bytes_reports_the_truth() -> None:
    info = validate_image_bytes(solid(640, 480, "WEBP", mode="RGB"))
    assert (info.format, info.width, info.height, info.frames) == ("WEBP", 640, 480, 1)
    assert info.mode == "RGB" and info.orientation == 1 and not info.animated
    with pytest.raises(ImageRejected) as caught:
        validate_image_bytes(b"GIF89a")
    assert caught.value.code == "truncated"
