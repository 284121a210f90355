"""A restart with many active jobs: how soon is every one of them polled again?

Starts `--jobs` long jobs (they stay queued or rendering), stops the bot (Ctrl-C),
starts it again and times, from the gateway being ready, until every job has had
a `/status` or `/result` request. Target: all within 3 s for 1,000 jobs. The
resume spreads first polls over the request budget (`--rate`, production 400/s),
so the figure is bounded below by jobs / rate.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from benchmarks.common import add_distance_options, machine, percentile, rig, write_json
from benchmarks.live_jobs import RUNCOMFY_BUDGET, animate_many, live_settings
from tests.fakes.runcomfy import Timeline


async def main(
    jobs: int = 1000,
    rate: float = RUNCOMFY_BUDGET,
    json_path: Path | None = None,
    latency: float = 0.0,
    connections: int | None = None,
) -> dict[str, float]:
    settings = {**live_settings(jobs, time_scale=1.0), "runcomfy_requests_per_second": rate}
    if connections is not None:
        settings["runcomfy_connections"] = connections
    timeline = Timeline(queue_positions=(9, 6, 3, 1), queue_seconds=300, run_seconds=600)
    async with rig(**settings) as r:
        r.runcomfy.latency = latency
        r.runcomfy.script(*([timeline] * jobs))
        await r.bot.start()
        await animate_many(r, jobs)
        await r.bot.stop()
        ids = set(r.runcomfy.jobs)
        mark = len(r.runcomfy.requests)
        await r.bot.start(within=60)
        ready = time.monotonic()
        first: dict[str, float] = {}
        deadline = ready + 120
        while len(first) < len(ids) and time.monotonic() < deadline:
            for q in r.runcomfy.requests[mark:]:
                rid = q.path.split("/")[3] if q.path.startswith("/v1/requests/") else ""
                if rid in ids and q.endpoint in ("status", "result"):
                    first.setdefault(rid, q.at)
            mark = len(r.runcomfy.requests)
            await asyncio.sleep(0.1)
    delays = [at - ready for at in first.values()]
    figures = {
        "jobs": float(jobs),
        "polled": float(len(first)),
        "all_polled_s": max(delays) if delays else float("nan"),
        "polled_p50_s": percentile(delays, 0.5),
        "rate": rate,
        "runcomfy_latency_s": latency,
        "runcomfy_connections": float(r.settings.runcomfy_connections),
    }
    print(
        f"restart: {jobs} active jobs, budget {rate:.0f}/s, RunComfy {latency * 1000:.0f} ms "
        f"away, at most {r.settings.runcomfy_connections} connections: {len(first)} polled "
        f"again, the last "
        f"{figures['all_polled_s']:.1f} s after the gateway was ready (p50 "
        f"{figures['polled_p50_s']:.1f} s; target all within 3 s; floor jobs/rate "
        f"{jobs / rate:.1f} s)"
    )
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument(
        "--rate", type=float, default=RUNCOMFY_BUDGET, help="RUNCOMFY_REQUESTS_PER_SECOND"
    )
    add_distance_options(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.rate, args.json, args.runcomfy_latency, args.connections))
