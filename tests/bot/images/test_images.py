"""Input image checks and fitting, over a corpus generated in memory."""

from __future__ import annotations

import io
import os
import struct
import zlib
from fractions import Fraction

import pytest
from PIL import Image

from bot import i18n
from bot.images import (
    ImageRejected,
    PreparedImage,
    precheck_metadata,
    prepare_image,
    validate_image_bytes,
)
from bot.images.bounds import (
    FIT_MAX_SIDE,
    FIT_MIN_SIDE,
    FORMATS,
    MAX_DOWNLOAD_BYTES,
    ImageBounds,
)
from bot.images.fitting import target_size
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
# Another model's: inclusive rules, a smaller range, a wider aspect, a smaller file.
OTHER = ImageBounds(
    side_above=255,
    side_below=4097,
    min_aspect=Fraction(1, 4),
    max_aspect=Fraction(4),
    min_aspect_inclusive=True,
    max_aspect_inclusive=True,
    max_file_bytes=20_000_000,
)


# --- The corpus -----------------------------------------------------------------------


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


# --- Sides: each bound on both sides ------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "fitted_to"),
    [
        ((301, 301), None),
        ((301, 752), None),
        ((5999, 2500), None),
        ((2500, 5999), None),
        ((300, 300), (FIT_MIN_SIDE, FIT_MIN_SIDE)),
        ((300, 301), (FIT_MIN_SIDE, 321)),
        ((150, 150), (FIT_MIN_SIDE, FIT_MIN_SIDE)),
        ((150, 300), (FIT_MIN_SIDE, 2 * FIT_MIN_SIDE)),
        ((6000, 2500), (FIT_MAX_SIDE, 1067)),
        ((2500, 6000), (1067, FIT_MAX_SIDE)),
    ],
)
def test_side_bounds(size: tuple[int, int], fitted_to: tuple[int, int] | None) -> None:
    prepared = prepared_ok(solid(*size), "photo.png")
    if fitted_to is None:
        assert not prepared.fitted and prepared.data is None
        assert (prepared.facts.width, prepared.facts.height) == size
        assert prepared.content_type == "image/png" and prepared.facts.format == "PNG"
    else:
        assert prepared.changes == ("resized",)
        assert (prepared.facts.width, prepared.facts.height) == fitted_to
    assert (prepared.facts.original_width, prepared.facts.original_height) == size
    assert prepared.facts.filename == "photo.png"


@pytest.mark.parametrize("size", [(149, 300), (300, 149), (149, 149)])
def test_too_small_to_enlarge(size: tuple[int, int]) -> None:
    exc = rejected(solid(*size))
    assert exc.code == "too_small"
    assert f"{size[0]}×{size[1]} px" in exc.message and "more than 300 px" in exc.message


# --- Aspect ratio: exactly 0.4 and 2.5 are refused -----------------------------------------


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ((400, 1000), False),  # exactly 0.4
        ((1000, 400), False),  # exactly 2.5
        ((6000, 2400), False),  # exactly 2.5, and too large: fitting cannot help
        ((399, 1000), False),
        ((1003, 400), False),
        ((410, 1000), True),  # 0.41
        ((996, 400), True),  # 2.49
    ],
)
def test_aspect_bounds(size: tuple[int, int], ok: bool) -> None:
    if ok:
        assert not prepared_ok(solid(*size)).fitted
        return
    exc = rejected(solid(*size))
    assert exc.code == "aspect"
    assert f"{size[0]}×{size[1]} px" in exc.message and "0.4" in exc.message
    if Fraction(*size) in (Fraction(2, 5), Fraction(5, 2)):
        assert "exactly" in exc.message  # never "2.50, must be less than 2.5"


def test_rounding_never_lands_on_an_aspect_bound() -> None:
    # 6001x2401 is 2.4994; scaled to 2560 wide, 1024.2 rounds to 1024: exactly 2.5.
    prepared = prepared_ok(solid(6001, 2401))
    assert Fraction(prepared.facts.width, prepared.facts.height) < Fraction(5, 2)


def test_target_size_sweep_near_every_bound() -> None:
    """Pure arithmetic over thousands of awkward sizes: every fit lands in bounds."""
    for short in [*range(150, 320), *range(2390, 2700), *range(5990, 6010)]:
        for long in {(5 * short - 1) // 2, (5 * short) // 2 - 3, short, short + 1}:
            for width, height in ((long, short), (short, long)):
                if not Fraction(2, 5) < Fraction(width, height) < Fraction(5, 2):
                    continue
                for reencoding in (False, True):
                    target = target_size(width, height, BOUNDS, reencoding=reencoding)
                    assert BOUNDS.fits(*target), (width, height, target)


# --- Not images, other formats, damage ----------------------------------------------------


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


# --- Decompression bombs --------------------------------------------------------------


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


# --- File size ------------------------------------------------------------------------------


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


# --- Frames, modes, orientation --------------------------------------------------------------


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


# --- Declared metadata, before any download ---------------------------------------------


def precheck(**overrides: object) -> None:
    declared: dict[str, object] = {
        "filename": "cat.png",
        "content_type": "image/png",
        "size": 1_000_000,
        "width": 800,
        "height": 600,
    }
    precheck_metadata(**{**declared, **overrides}, bounds=BOUNDS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"content_type": None},  # no declared type is no reason to refuse
        {"content_type": "IMAGE/JPEG; charset=binary"},
        {"content_type": "image/png", "filename": "not-really.txt"},  # bytes decide later
        {"size": 35_000_000},  # over 30 MB: fitted later
        {"size": MAX_DOWNLOAD_BYTES},
        {"width": 8000, "height": 6000},  # too large: fitted later
        {"width": 150, "height": 150},  # small but fitable
        {"width": 410, "height": 1000},
    ],
)
def test_precheck_lets_fixable_images_through(overrides: dict[str, object]) -> None:
    precheck(**overrides)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"size": 0}, "empty"),
        ({"content_type": "text/plain"}, "not_image"),  # lying dims, honest type
        ({"content_type": "application/pdf", "filename": "scan.png"}, "not_image"),
        ({"width": None, "height": None}, "not_image"),  # "image/png", but no picture
        ({"width": 800, "height": None}, "not_image"),
        ({"content_type": "image/heic", "width": None, "height": None}, "unsupported_format"),
        ({"size": MAX_DOWNLOAD_BYTES + 1}, "too_large_download"),
        ({"width": 1000, "height": 400}, "aspect"),
        ({"width": 400, "height": 1000}, "aspect"),
        ({"width": 149, "height": 200}, "too_small"),
    ],
)
def test_precheck_refuses_what_cannot_be_fixed(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        precheck(**overrides)
    assert caught.value.code == code
    assert_helpful(caught.value)


def test_filenames_cannot_break_the_message_markdown() -> None:
    exc = rejected(b"plain text", "`evil`**name**" + "x" * 100)
    first_line = exc.message.splitlines()[0]
    assert first_line.count("`") == 2 and "..." in first_line


# --- Another model's bounds -----------------------------------------------------------------


def test_fitting_follows_another_models_bounds() -> None:
    """Inclusive rules, other sides and ratios: checks and fits follow the bounds given."""
    for short in [*range(150, 300), *range(4000, 4120)]:
        for long in {4 * short, 4 * short - 1, short, short + 1}:
            for width, height in ((long, short), (short, long)):
                for reencoding in (False, True):
                    target = target_size(width, height, OTHER, reencoding=reencoding)
                    assert OTHER.fits(*target), (width, height, target)
    # 4:1 is refused by the seed model's rules and taken by these.
    wide = solid(1600, 400, "PNG")
    assert rejected(wide).code == "aspect"
    assert not prepare_image(wide, filename="wide.png", bounds=OTHER).fitted
    # 256 px is enough here; 3000 px too, where the seed model takes 5999.
    assert not prepare_image(solid(256, 256, "PNG"), filename="s", bounds=OTHER).fitted
    big = prepare_image(solid(4200, 4200, "JPEG"), filename="b.jpg", bounds=OTHER)
    assert big.fitted and (big.facts.width, big.facts.height) == (FIT_MAX_SIDE, FIT_MAX_SIDE)


def test_what_is_accepted_is_said_from_the_bounds() -> None:
    t = i18n.english()
    assert accepted(t, BOUNDS) == (
        "Accepted: PNG, JPEG, WebP or GIF; more than 300 and less than 6000 px on each side; "
        "width/height between 0.4 and 2.5; under 30 MB (I resize bigger images for you, and "
        "ones down to 150 px)."
    )
    assert "between 0.25 and 4;" in accepted(t, OTHER) and "under 20 MB" in accepted(t, OTHER)
    assert "px on each side" not in accepted(t, ImageBounds())
    with pytest.raises(ImageRejected) as caught:
        precheck_metadata(
            filename="w.png", content_type="image/png", size=10, width=5000, height=1000,
            bounds=OTHER,
        )  # fmt: skip
    assert caught.value.code == "aspect" and "between 0.25 and 4" in caught.value.message
