"""What it costs to keep 1,000 jobs under watch, apart from starting and delivering them.

A job's CPU has a fixed part (the command, the image check, the delivery) and a part
that grows with its length (polling RunComfy, editing the status message). This runs
in real time: 1,000 jobs are started and left queued then rendering (long timelines,
queue positions stepping down), and the bot's CPU is read over one minute in which
nothing is started or delivered. That minute is 1,000 job-minutes of tracking.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from benchmarks.common import machine, rig, write_json
from benchmarks.live_jobs import animate_many, live_settings
from tests.fakes.harness import RUNCOMFY_TOKEN
from tests.fakes.runcomfy import Timeline

# Let the submits' own work pass: the first polls (one interval after the submit, up to
# 15 s + 10 % without past renders) and the status edits they bring (5 s apart).
SETTLE_SECONDS = 25.0


async def run_floor(
    runcomfy_url: str, discord_url: str, ids: list[str], interval: float, window: float
) -> dict[str, float]:
    """`benchmarks.floor` in its own process over the same jobs; its own CPU."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.floor",
        "--runcomfy",
        runcomfy_url,
        "--discord",
        discord_url,
        "--token",
        RUNCOMFY_TOKEN,
        "--interval",
        str(interval),
        "--window",
        str(window),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate("\n".join(ids).encode()), window + 120)
    figures: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def main(
    jobs: int = 1000, window_seconds: float = 60.0, json_path: Path | None = None
) -> dict[str, float]:
    # Long enough that no job finishes before the window ends, and one queue move every
    # 30 s all along: the floor, measured after the bot, sees as many changes as it did.
    moves = 60
    timeline = Timeline(
        queue_positions=tuple(range(moves, 0, -1)), queue_seconds=30.0 * moves, run_seconds=600
    )
    async with rig(**live_settings(jobs, time_scale=1.0)) as r:
        r.runcomfy.script(*([timeline] * jobs))
        await r.bot.start()
        began = time.monotonic()
        await animate_many(r, jobs)
        started_seconds = time.monotonic() - began
        await asyncio.sleep(SETTLE_SECONDS)
        requests_before = len(r.runcomfy.requests)
        discord_before = len(r.discord.requests)
        cpu_before = r.bot.cpu_seconds()
        await asyncio.sleep(window_seconds)
        cpu = r.bot.cpu_seconds() - cpu_before
        polls = len(r.runcomfy.requests) - requests_before
        discord_requests = len(r.discord.requests) - discord_before
        assert len(r.runcomfy.submits) == jobs, "window spoilt"
        await r.bot.stop()
        # Same jobs, same schedule (the bot's polls per job), one PATCH per change.
        interval = window_seconds * jobs / max(1, polls)
        floor = await run_floor(
            r.runcomfy.base_url,
            r.discord.base_url,
            list(r.runcomfy.jobs),
            interval,
            window_seconds,
        )

    job_minutes = jobs * window_seconds / 60
    figures = {
        "cpu_ms_per_job_minute": cpu / job_minutes * 1000,
        "polls_per_job_minute": polls / job_minutes,
        "discord_requests_per_job_minute": discord_requests / job_minutes,
        "floor_cpu_ms_per_job_minute": floor["cpu_seconds"] / job_minutes * 1000,
    }
    figures["floor_ratio"] = figures["cpu_ms_per_job_minute"] / max(
        1e-9, figures["floor_cpu_ms_per_job_minute"]
    )
    print(
        f"tracking: {jobs} live jobs watched for {window_seconds:.0f} s "
        f"({job_minutes:.0f} job-minutes; starting them took {started_seconds:.0f} s)"
    )
    print(
        f"  bot CPU {cpu:.2f} s: {figures['cpu_ms_per_job_minute']:.2f} ms per job-minute "
        f"(target < 5); RunComfy polls {figures['polls_per_job_minute']:.1f} per job-minute, "
        f"Discord requests {figures['discord_requests_per_job_minute']:.2f} per job-minute"
    )
    print(
        f"  floor (bare httpx loop, same jobs, a poll every {interval:.1f} s, "
        f"{floor['changes']:.0f} PATCHes): {figures['floor_cpu_ms_per_job_minute']:.2f} ms "
        f"per job-minute; bot / floor = {figures['floor_ratio']:.2f}x (target <= 1.25x)"
    )
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.window, args.json))
