"""The declared metadata, checked before any download."""

from __future__ import annotations

import pytest

from bot.images import ImageRejected, precheck_metadata
from bot.images.bounds import MAX_DOWNLOAD_BYTES
from tests.bot.images.corpus import BOUNDS, assert_helpful, rejected


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
