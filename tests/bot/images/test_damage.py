"""What is not an image, or is damaged, or a decompression bomb: refused with a helpful reason."""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from tests.bot.images.corpus import (
    ORIENTATION,
    encode,
    handmade_png,
    noise,
    noisy_png,
    png_chunk,
    prepared_ok,
    rejected,
    solid,
)


def test_empty_file() -> None:
    assert rejected(b"", "cat.png").code == "empty"


def test_renamed_text_file() -> None:
    exc = rejected(b"Dear diary,\nToday I renamed a text file to .png.\n" * 20, "cat.png")
    assert exc.code == "not_image"
    assert "`cat.png`" in exc.message and "PNG, JPEG, WebP or GIF" in exc.message


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG file"),
        (b"\xef\xbb\xbf  <svg width='400' height='400'></svg>", "an SVG file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a PDF file"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "a HEIC file"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 64, "an AVIF file"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64, "a video"),
        (solid(400, 400, "BMP"), "a BMP file"),
        (solid(400, 400, "TIFF"), "a TIFF file"),
    ],
)
def test_unsupported_formats_are_named(data: bytes, named: str) -> None:
    exc = rejected(data, "upload.png")
    assert exc.code == "unsupported_format"
    assert named in exc.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_files_are_found_by_decoding(fmt: str) -> None:
    whole = encode(noise(400, 400).convert("P") if fmt == "GIF" else noise(400, 400), fmt)
    exc = rejected(whole[: len(whole) // 2], "half")
    assert exc.code == "truncated"
    assert "damaged or incomplete" in exc.message


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(kind, body) of each chunk of a PNG file."""
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def test_a_flipped_bit_in_a_png_is_damage() -> None:
    # A plain PNG is checked by its chunks' checksums, not by decoding its pixels.
    data = bytearray(noisy_png(400, 400))
    data[len(data) // 2] ^= 0x10  # inside the IDAT's pixels
    assert rejected(bytes(data), "flipped.png").code == "truncated"


def test_a_png_exif_after_the_pixels_still_turns_it_upright() -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # shown turned a quarter: 600 wide, 800 tall
    chunks = png_chunks(encode(Image.new("RGB", (800, 600), "red"), "PNG", exif=exif))
    late = [c for c in chunks if c[0] != b"eXIf"]
    late.insert(-1, next(c for c in chunks if c[0] == b"eXIf"))  # just before IEND
    assert [kind for kind, _ in late][-3:] == [b"IDAT", b"eXIf", b"IEND"]
    data = b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(kind, body) for kind, body in late)
    prepared = prepared_ok(data, "late.png")
    assert "rotated upright" in prepared.changes
    assert (prepared.facts.width, prepared.facts.height) == (600, 800)


def test_a_broken_header_with_a_png_signature_is_damaged_not_foreign() -> None:
    exc = rejected(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert exc.code == "truncated" and "PNG" in exc.message


def test_a_tiny_header_claiming_100000x100000_is_a_bomb() -> None:
    data = handmade_png(100_000, 100_000, pixels=False)
    assert len(data) < 100
    assert rejected(data).code == "bomb"


def test_a_highly_compressible_huge_image_is_a_bomb_before_decoding() -> None:
    data = handmade_png(9000, 9000, pixels=True)  # 81 Mpx in ~10 kB, a valid PNG
    assert len(data) < 100_000
    exc = rejected(data, "zeros.png")
    assert exc.code == "bomb" and "9000×9000 px" in exc.message


def test_a_gif_screen_of_65535_squared_is_a_bomb() -> None:
    tiny = encode(Image.new("P", (1, 1)), "GIF")
    claimed = tiny[:6] + struct.pack("<HH", 65535, 65535) + tiny[10:]  # logical screen
    assert rejected(claimed).code == "bomb"
