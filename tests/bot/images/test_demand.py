"""What an image check holds in memory, known from the header, and checks within a budget."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from bot import i18n
from bot.images import ImageRejected, prepare_within_budget
from bot.images.budget import DECODING, PixelBudget
from bot.images.prepare import decoding_demand
from tests.bot.images.bombs import bomb_png
from tests.bot.images.corpus import BOUNDS as SEEDANCE_BOUNDS

REPO = Path(__file__).resolve().parents[3]
# Measured in a fresh interpreter: /proc's peak resident memory around prepare_image.
MEASURE = """
import sys
from pathlib import Path
from bot.images import prepare_image
from tests.bot.images.corpus import BOUNDS as SEEDANCE_BOUNDS

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024

data = Path(sys.argv[1]).read_bytes()
Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
before = status("VmRSS")
prepare_image(data, filename="x", bounds=SEEDANCE_BOUNDS)
print(status("VmHWM") - before)
"""


def encoded(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def measured_peak(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "image"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout)


def photo(size: tuple[int, int]) -> Image.Image:
    return Image.effect_noise(size, 50).convert("RGB")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: bomb_png("palette", 6400, 6400), id="palette png, fitted"),
        pytest.param(lambda: bomb_png("rgba", 6400, 6400), id="rgba png, fitted"),
        pytest.param(lambda: encoded(photo((3000, 3000)), "WEBP"), id="webp, decoded"),
        pytest.param(lambda: encoded(photo((7000, 2900)), "JPEG"), id="jpeg, drafted, fitted"),
        pytest.param(lambda: encoded(photo((4000, 3000)), "JPEG"), id="jpeg, decoded"),
    ],
)
def test_the_demand_from_the_header_covers_the_real_peak_closely(
    make: Callable[[], bytes], tmp_path: Path
) -> None:
    data = make()
    demand = decoding_demand(data, filename="x", bounds=SEEDANCE_BOUNDS).peak_bytes
    real = measured_peak(data, tmp_path)
    assert real <= demand, f"held {real / 1e6:.0f} MB, reserved {demand / 1e6:.0f} MB"
    assert demand <= 1.4 * real + 16_000_000, f"reserved {demand / 1e6:.0f} MB for {real / 1e6:.0f}"


def test_a_png_sent_as_it_is_is_checked_without_decoding_and_reserves_nothing() -> None:
    data = bomb_png("rgba", 5000, 4000)  # inside every bound: its checksums are checked
    assert decoding_demand(data, filename="x", bounds=SEEDANCE_BOUNDS).peak_bytes == 0


def test_the_biggest_png_the_header_cap_lets_through_fits_the_budget() -> None:
    for kind in ("rgb", "rgba"):
        demand = decoding_demand(bomb_png(kind, 8000, 8000), filename="x", bounds=SEEDANCE_BOUNDS)
        assert DECODING.fits(demand.peak_bytes)


def empty_webp(width: int, height: int) -> bytes:
    return encoded(Image.new("L", (width, height)), "WEBP", lossless=True, method=0)


async def test_an_image_that_can_never_fit_is_refused_in_both_languages() -> None:
    # Pillow's WebP decoder holds four copies of the pixels: 49 Mpx would take 0.8 GB.
    with pytest.raises(ImageRejected) as caught:
        await prepare_within_budget(
            empty_webp(7000, 7000), filename="huge.webp", bounds=SEEDANCE_BOUNDS
        )
    refused = caught.value
    assert refused.code == "too_big_to_open" and DECODING.held == 0
    english, french = refused.text(i18n.english()), refused.text(i18n.for_locale("fr"))
    assert "7000×7000 px" in english and "PNG or JPEG" in english
    assert "7000\u00a0×\u00a07000\u00a0pixels" in french and "PNG ou JPEG" in french
    assert "6000" in english  # then what the model accepts


async def test_no_room_in_time_asks_to_try_again_and_holds_nothing() -> None:
    budget = PixelBudget(300_000_000)
    data = bomb_png("palette", 6400, 6400)
    async with budget.reserve(budget.capacity, within=1):
        with pytest.raises(ImageRejected) as caught:
            await prepare_within_budget(
                data, filename="x.png", bounds=SEEDANCE_BOUNDS, budget=budget, within=0.05
            )
    busy = caught.value
    assert busy.code == "busy" and busy.bounds is None  # nothing wrong with the image
    assert "try again in a minute" in busy.text(i18n.english())
    assert "Réessayez dans une minute" in busy.text(i18n.for_locale("fr"))
    assert budget.held == 0 and budget.waiting == 0


async def test_checks_share_the_budget_and_give_it_back_even_when_refused() -> None:
    budget = PixelBudget(300_000_000)
    fitted = bomb_png("palette", 6400, 6400)
    damaged = fitted[: len(fitted) // 2]
    results = await asyncio.gather(
        *(
            prepare_within_budget(data, filename="x.png", bounds=SEEDANCE_BOUNDS, budget=budget)
            for data in (fitted, damaged, fitted)
        ),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "PreparedImage",
        "ImageRejected",
        "PreparedImage",
    ]
    assert budget.held == 0 and budget.waiting == 0
