"""Fitting in bands of rows: the pixels of a whole-image convert and resize, less memory."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from bot.images.bands import REDUCING_GAP, band_rows, web_frame


def whole(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """What fitting did before bands: convert all of it, then one resize."""
    if img.mode in ("P", "LA", "RGBA"):
        frame = img.convert("RGBA")
        if frame.getchannel("A").getextrema()[0] == 255:
            frame = frame.convert("L" if img.mode == "LA" else "RGB")
    elif img.mode == "1":
        frame = img.convert("L")
    else:
        frame = img
    if frame.size == target:
        return frame
    return frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def noise(mode: str, size: tuple[int, int]) -> Image.Image:
    grey = Image.frombytes("L", size, os.urandom(size[0] * size[1]))
    if mode == "P":
        return grey.convert("RGB").quantize(64)
    if mode == "RGBA":
        rgba = Image.merge("RGBA", [grey, grey.transpose(Image.Transpose.ROTATE_180), grey, grey])
        return rgba
    if mode == "LA":
        return Image.merge("LA", [grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    return grey.convert(mode)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA"])
@pytest.mark.parametrize(
    ("size", "target"),
    [
        ((3001, 2003), (1280, 854)),  # reduced 1x1: Lanczos alone
        ((6007, 1999), (1200, 399)),  # reduced 2x2 then Lanczos; bands cut mid-image
        ((900, 700), (900, 700)),  # converted only
        ((250, 400), (320, 512)),  # enlarged
    ],
)
def test_bands_give_the_pixels_of_a_whole_image_resize(
    mode: str, size: tuple[int, int], target: tuple[int, int]
) -> None:
    img = noise(mode, size)
    frame, _icc = web_frame(img, target)
    expected = whole(img, target)
    assert frame.mode == expected.mode and frame.size == expected.size == target
    assert frame.tobytes() == expected.tobytes()


def test_a_large_image_is_cut_into_bands_of_whole_reduce_boxes() -> None:
    rows = band_rows(6007, 2)
    assert rows % 2 == 0 and rows * 10 < 1999  # the 2x2 case above: a dozen bands


def test_an_opaque_image_comes_out_rgb_and_one_translucent_pixel_keeps_it_rgba() -> None:
    img = noise("RGB", (3000, 2000)).convert("RGBA")
    assert web_frame(img, (1500, 1000))[0].mode == "RGB"
    img.putpixel((2999, 1999), (0, 0, 0, 254))  # in the last band only
    assert web_frame(img, (1500, 1000))[0].mode == "RGBA"
