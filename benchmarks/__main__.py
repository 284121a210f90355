"""`make bench`: run the benchmarks one at a time, each writing its `--json` file, then
write docs/benchmarks.md from those files (benchmarks/report.py).

    python -m benchmarks [--only live_jobs,restart] [--results DIR] [--page PATH]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    ack_burst,
    bombs,
    fit_video,
    history_bench,
    http_lanes,
    image_check,
    large_video,
    live_jobs,
    report,
    restart,
    stop_time,
    tracking,
)

Run = Callable[[Path], Awaitable[Any]]

# Cheap ones first; each name is its file in the results folder and its row on the page.
RUNS: dict[str, Run] = {
    "history_bench": lambda out: history_bench.main(out),
    "image_check": lambda out: image_check.main(json_path=out),
    "bombs": lambda out: bombs.main(json_path=out),
    "http_lanes": lambda out: http_lanes.main(json_path=out),
    "ack_burst": lambda out: ack_burst.main(json_path=out),
    "ack_burst_1000": lambda out: ack_burst.main(1000, out),
    "large_video": lambda out: large_video.main(out),
    "live_jobs": lambda out: live_jobs.main(json_path=out),
    "live_jobs_far": lambda out: live_jobs.main(json_path=out, latency=0.15),
    "tracking": lambda out: tracking.main(json_path=out),
    "restart": lambda out: restart.main(json_path=out),
    "stop_time": lambda out: stop_time.main(out),
    "fit_video": lambda out: fit_video.main(fit_video.parse(["--json", str(out)])),
}


async def run_all(names: list[str], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"== {name}")
        await RUNS[name](results / f"{name}.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(RUNS))
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    parser.add_argument("--page", type=Path, default=report.PAGE)
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(RUNS)
    unknown = sorted(set(names) - set(RUNS))
    if unknown:
        parser.error("unknown benchmark: " + ", ".join(unknown))
    asyncio.run(run_all(names, args.results))
    report.main(["--results", str(args.results), "--page", str(args.page)])


if __name__ == "__main__":
    main()
