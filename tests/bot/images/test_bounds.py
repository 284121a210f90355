"""Image bounds: each side and aspect bound on both sides, and another model's bounds followed."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot import i18n
from bot.images import ImageRejected, precheck_metadata, prepare_image
from bot.images.bounds import FIT_MAX_SIDE, FIT_MIN_SIDE, ImageBounds
from bot.images.fitting import target_size
from bot.images.rejections import accepted
from tests.bot.images.corpus import BOUNDS, prepared_ok, rejected, solid

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
