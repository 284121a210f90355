"""The image check (`bot.images.prepare_image`) off the event loop, as the cog runs it.

Each picture is checked in a worker thread (`asyncio.to_thread`), alone and then while
the event loop is busy with Python work of its own (as in a burst of commands), next
to a plain Pillow decode (`Image.open(...).load()`). Pillow feeds a decoder in 64 KB
blocks and takes the GIL back after each one: next to a busy loop every take can
wait the interpreter's switch interval (5 ms). The check decodes in
`DECODE_BLOCK_BYTES` blocks, and a PNG sent as it is is checked by its chunks'
checksums instead of being decoded.

    python -m benchmarks.image_check [--rounds 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image

from benchmarks.common import machine, percentile, write_json
from bot import images
from tests.models import seedance

ROUNDS = 20


def pictures() -> dict[str, bytes]:
    """Photo-like (noisy) pictures the model takes as they are: decoded by the check."""
    noise = Image.frombytes("RGB", (1280, 960), os.urandom(1280 * 960 * 3))

    def encoded(img: Image.Image, fmt: str, **params: object) -> bytes:
        out = io.BytesIO()
        img.save(out, format=fmt, **params)
        return out.getvalue()

    return {
        "jpeg": encoded(noise, "JPEG", quality=90),
        "webp": encoded(noise, "WEBP", quality=80),
        "gif": encoded(noise.convert("P"), "GIF"),
        "png": encoded(noise, "PNG"),
    }


async def busy_loop(until: Callable[[], bool]) -> None:
    """Python work on the event loop, yielding between slices like a loaded bot."""
    payload = {"embeds": [{"title": "x" * 40, "fields": [{"name": "n", "value": "v"}] * 8}]}
    while not until():
        for _ in range(50):
            json.loads(json.dumps(payload))
        await asyncio.sleep(0)


def pillow_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.load()


async def check_times(check: Callable[[], object], rounds: int, *, busy: bool) -> list[float]:
    times: list[float] = []
    stop = False
    loop_task = asyncio.create_task(busy_loop(lambda: stop)) if busy else None
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            await asyncio.to_thread(check)
            times.append(time.perf_counter() - start)
    finally:
        stop = True
        if loop_task is not None:
            await loop_task
    return times


async def main(rounds: int = ROUNDS, json_path: Path | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    print(f"image check, 1280x960 noise, p50 of {rounds} (ms alone / next to a busy event loop)")
    for kind, data in pictures().items():
        row: list[str] = []
        checks: dict[str, Callable[[], object]] = {
            "pillow": partial(pillow_decode, data),
            "check": partial(
                images.prepare_image, data, filename=f"photo.{kind}", bounds=seedance().bounds
            ),
        }
        for label, check in checks.items():
            alone = percentile(await check_times(check, rounds, busy=False), 0.5) * 1000
            busy = percentile(await check_times(check, rounds, busy=True), 0.5) * 1000
            figures[f"{kind}_{label}_alone_ms"] = alone
            figures[f"{kind}_{label}_busy_ms"] = busy
            row.append(f"{alone:.1f} / {busy:.1f}")
        print(f"  {kind:4s} {len(data) / 1e6:.1f} MB: Pillow's decode {row[0]}; our check {row[1]}")
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.json))
