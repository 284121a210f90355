"""The bounds an input image must meet: the model's rules, and the bot's own limits."""

from __future__ import annotations

from fractions import Fraction

# --- The model's rules (all bounds exclusive) ---------------------------------------
MIN_SIDE = 300
MAX_SIDE = 6000
MIN_ASPECT = Fraction(2, 5)  # 0.4, exact: no float rounding at the bound
MAX_ASPECT = Fraction(5, 2)  # 2.5
MAX_FILE_BYTES = 30_000_000  # "30 MB" read as the stricter decimal megabytes

# --- Our own limits ---------------------------------------------------------------
# Attachments above this are not even downloaded (30..50 MB gets re-encoded below 30).
MAX_DOWNLOAD_BYTES = 50_000_000
# A side below this is too small to enlarge into something worth animating.
MIN_FITTABLE_SIDE = 150
# Decompression-bomb cap, checked from the header before decoding. Our own number,
# below Pillow's global default (~89 Mpx), so we never depend on that global.
MAX_PIXELS = 64_000_000
# Fitting targets: a margin inside the bounds. The video is at most 1920 px on its long
# side, so 2560 px loses nothing, keeps the re-hosted file small, and lets a JPEG of
# 6000 px or more be decoded at 1/2 scale or less by draft().
FIT_MAX_SIDE = 2560
FIT_MIN_SIDE = 320

FORMATS: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
