"""A 90 MB video delivered to a guild with a 100 MiB upload limit.

The bot streams it from the CDN to a temporary file and uploads it from that
file; its resident memory should barely move. Target: growth under 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from benchmarks.common import machine, rig, write_json
from tests.cogs.animate.helpers import png
from tests.fakes.runcomfy import Timeline

VIDEO_BYTES = 90 * 1000 * 1000
LIMIT = 100 * 1024 * 1024


async def main(json_path: Path | None = None) -> dict[str, float]:
    async with rig() as r:
        r.discord.upload_limit = LIMIT
        r.runcomfy.script(Timeline(manual=True, video_size=VIDEO_BYTES))
        await r.bot.start()
        ix = await r.discord.invoke(
            "animate", image=png(), prompt="a long film", attachment_size_limit=LIMIT
        )
        await r.discord.wait_for(lambda: r.runcomfy.submits, within=30)
        await asyncio.sleep(1.0)  # let start-up allocations settle
        baseline = r.bot.memory()["VmRSS"]
        peak = baseline
        rid = next(iter(r.runcomfy.jobs))
        started = time.monotonic()
        r.runcomfy.set_state(rid, "completed")

        def videos() -> list[int]:
            return [
                m.attachments[0].size
                for m in r.discord.channel_messages()
                if m.attachments and m.attachments[0].filename.endswith(".mp4")
            ]

        for _ in range(1200):  # sample RSS every 50 ms, at most 60 s
            peak = max(peak, r.bot.memory()["VmRSS"])
            if videos():
                break
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
        (size,) = videos()
        assert ix.original_id is not None
    growth = (peak - baseline) / 1e6
    print(
        f"large video: {size / 1e6:.0f} MB downloaded and uploaded in {seconds:.1f} s; "
        f"bot RSS {baseline / 1e6:.0f} MB -> peak {peak / 1e6:.0f} MB, "
        f"growth {growth:.1f} MB (target < 20)"
    )
    print(f"  machine: {machine()}")
    figures = {"growth_mb": growth, "seconds": seconds, "size": float(size)}
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    asyncio.run(main(parser.parse_args().json))
