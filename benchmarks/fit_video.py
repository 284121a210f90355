"""Fitting a big Seedance-like clip under 10 MiB, and the bot's acks while videos encode.

1. A clip of `--mb` MB, `--seconds` s, `--height`p (default 20 MB, 12 s, 1080p: what a
   1080p/12 s render can weigh) is generated once with PyAV (noise, so it is hard to
   compress), then `bot.video.fit` squeezes it under `--limit-mib` in a worker process:
   wall time, the worker's peak RSS, and the quality kept (resolution, bitrates).
2. The real bot (its own process, both fakes here) gets `--videos` jobs whose result is
   that clip, over the guild's 10 MiB limit, so they are all re-encoded (VIDEO_WORKERS
   `--workers`); while they encode, `--users` users run /animate at once: time to the
   defer (target p99 under 500 ms). Then the delivered uploads are probed.

Figures move a lot with the machine's load: run it on a quiet machine to compare.
`python -m benchmarks.fit_video [--json PATH]`; small sizes for a quick look:
`--mb 2 --seconds 3 --height 480 --users 50`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import machine, rig, summary, write_json
from benchmarks.live_jobs import live_settings
from bot import video
from tests.cogs.animate.helpers import png
from tests.fakes import media
from tests.fakes.runcomfy import Timeline

MIB = 1024 * 1024


def make_source(path: Path, mb: float, seconds: float, height: int) -> video.VideoFacts:
    width = round(height * 16 / 9 / 2) * 2
    clip = media.Clip(
        width=width,
        height=height,
        seconds=seconds,
        content="noise",
        bit_rate=int(mb * 1e6 * 8 / seconds),
        preset="ultrafast",
    )
    media.make_clip(path, clip)
    return video.probe(path)


def fit_in_child(src: Path, dest: Path, limit: int) -> tuple[video.FitResult, float, float]:
    """Fit in a fresh worker process, as the bot does: result, wall seconds, peak RSS MiB."""
    context = multiprocessing.get_context("spawn")
    began = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        result = pool.submit(video.fit, src, dest, limit).result()
    wall = time.perf_counter() - began
    # ru_maxrss of reaped children, in KiB on Linux: the worker is the largest child so far.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result, wall, peak


async def burst_while_encoding(
    clip: bytes, *, videos: int, users_count: int, workers: int, limit: int
) -> dict[str, Any]:
    settings = live_settings(videos + users_count, time_scale=1.0)
    settings["video_workers"] = workers
    async with rig(**settings) as r:
        r.discord.upload_limit = limit
        encoders = [r.discord.add_user(f"encoder{i}") for i in range(videos)]
        users = [r.discord.add_user(f"user{i}") for i in range(users_count)]
        r.runcomfy.script(
            *(Timeline(queue_seconds=0.05, run_seconds=0.05, media=clip) for _ in encoders),
            *(Timeline(manual=True) for _ in users),
        )
        await r.bot.start()
        image = png()
        await asyncio.gather(
            *(
                r.discord.invoke(
                    "animate", image=image, prompt="big", user=u, attachment_size_limit=limit
                )
                for u in encoders
            )
        )
        # Every result downloaded, then a moment for the probes and the first encodes to start.
        await r.discord.wait_for(lambda: r.runcomfy.count("video") == videos, within=120)
        await asyncio.sleep(2.0)
        delivered_before = len(uploads(r))
        attachments = [r.discord.add_cdn_file(image, "photo.png", "image/png") for _ in users]
        interactions = await asyncio.gather(
            *(
                r.discord.invoke("animate", image=a, prompt=f"burst {i}", user=u)
                for i, (u, a) in enumerate(zip(users, attachments, strict=True))
            )
        )
        await r.discord.wait_for(
            lambda: all(ix.responded_at is not None for ix in interactions), within=60
        )
        acks = [ix.ack_seconds or 0.0 for ix in interactions]
        delivered_during = len(uploads(r)) - delivered_before
        await r.discord.wait_for(lambda: len(uploads(r)) == videos, within=1800)
        outputs = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, message in enumerate(uploads(r)):
                path = Path(tmp) / f"out{i}.mp4"
                path.write_bytes(message.attachments[0].data)
                facts = video.probe(path)
                outputs.append((facts.width, facts.height, facts.bitrate, facts.size_bytes))
    return {"acks": acks, "delivered_during_burst": delivered_during, "outputs": outputs}


def uploads(r: Any) -> list[Any]:
    return [
        m
        for m in r.discord.channel_messages()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    limit = int(args.limit_mib * MIB)
    with tempfile.TemporaryDirectory(prefix="fit-bench-") as tmp:
        src, dest = Path(tmp) / "source.mp4", Path(tmp) / "fitted.mp4"
        began = time.perf_counter()
        source = make_source(src, args.mb, args.seconds, args.height)
        made = time.perf_counter() - began
        print(
            f"source: {source.width}x{source.height}, {source.duration:.1f} s, "
            f"{source.size_bytes / 1e6:.1f} MB, {source.bitrate / 1000:.0f} kb/s "
            f"(generated in {made:.1f} s)"
        )
        result, wall, peak = fit_in_child(src, dest, limit)
        print(
            f"fit under {args.limit_mib:g} MiB: ok={result.ok} in {wall:.1f} s "
            f"(worker {result.seconds:.1f} s, {result.passes} pass(es)), peak RSS {peak:.0f} MiB; "
            f"kept {result.width}x{result.height}, video {result.video_bitrate / 1000:.0f} kb/s, "
            f"audio {result.audio_bitrate / 1000:.0f} kb/s, {result.size_bytes / MIB:.2f} MiB"
        )
        burst = await burst_while_encoding(
            src.read_bytes(),
            videos=args.videos,
            users_count=args.users,
            workers=args.workers,
            limit=limit,
        )
    acks = burst["acks"]
    ordered = sorted(acks)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"ack burst: {args.users} /animate while {args.videos} videos encode "
        f"(VIDEO_WORKERS={args.workers}) -> defer: {summary(acks)}; "
        f"videos delivered during the burst: {burst['delivered_during_burst']}"
    )
    for width, height, bitrate, size in burst["outputs"]:
        print(f"  delivered: {width}x{height}, {bitrate / 1000:.0f} kb/s, {size / MIB:.2f} MiB")
    print(f"  machine: {machine()} (shared and loaded: figures are noisy)")
    figures: dict[str, Any] = {
        "source": {"width": source.width, "height": source.height, "bytes": source.size_bytes,
                   "seconds": source.duration},
        "fit": {"ok": result.ok, "wall_seconds": wall, "peak_rss_mib": peak,
                "width": result.width, "height": result.height,
                "video_bitrate": result.video_bitrate, "audio_bitrate": result.audio_bitrate,
                "bytes": result.size_bytes, "passes": result.passes},
        "burst": {"users": args.users, "videos": args.videos, "workers": args.workers,
                  "ack_p99_seconds": p99, "ack_max_seconds": max(acks),
                  "delivered_during_burst": burst["delivered_during_burst"],
                  "outputs": burst["outputs"]},
    }  # fmt: skip
    write_json(args.json, figures)
    return figures


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=20.0, help="source size in MB")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--limit-mib", type=float, default=10.0)
    parser.add_argument("--videos", type=int, default=4, help="videos encoding during the burst")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="VIDEO_WORKERS for the bot")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
