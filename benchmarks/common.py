"""Shared set-up: both fakes in this process, the real bot in its own process.

The bot's CPU time and memory are read from /proc for its process alone, so
the fakes' own work does not count against it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import RUNCOMFY_TOKEN, settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy


@dataclass
class Rig:
    discord: FakeDiscord
    runcomfy: FakeRunComfy
    settings: Settings
    bot: BotProcess
    workdir: Path


@contextlib.asynccontextmanager
async def rig(*, runcomfy_time_scale: float = 1.0, **settings: Any) -> AsyncIterator[Rig]:
    """Start both fakes and the bot process; stop all of it afterwards."""
    with tempfile.TemporaryDirectory(prefix="animate-bench-") as tmp:
        workdir = Path(tmp)
        discord_fake = FakeDiscord()
        await discord_fake.start()
        runcomfy_fake = FakeRunComfy(token=RUNCOMFY_TOKEN, time_scale=runcomfy_time_scale)
        await runcomfy_fake.start()
        config = settings_for_fakes(discord_fake, runcomfy_fake, workdir / "bot.db", **settings)
        process = BotProcess(config, discord_fake, workdir / "bot.log")
        try:
            yield Rig(discord_fake, runcomfy_fake, config, process, workdir)
        finally:
            await process.stop()
            await runcomfy_fake.close()
            await discord_fake.close()


def add_distance_options(parser: argparse.ArgumentParser) -> None:
    """`--runcomfy-latency` (a RunComfy far away) and `--connections` (its ceiling)."""
    parser.add_argument(
        "--runcomfy-latency", type=float, default=0.0, help="seconds each RunComfy answer waits"
    )
    parser.add_argument("--connections", type=int, default=None, help="RUNCOMFY_CONNECTIONS")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: Sequence[float], unit: str = "ms", scale: float = 1000.0) -> str:
    return (
        f"p50 {percentile(values, 0.5) * scale:.1f} {unit}, "
        f"p99 {percentile(values, 0.99) * scale:.1f} {unit}, "
        f"max {max(values) * scale:.1f} {unit} (n={len(values)})"
    )


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}"
    )


def run_facts() -> dict[str, Any]:
    """Where and when a run was made: docs/benchmarks.md names the machine from these."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # The machine is shared: the load beside the run says how far to trust it.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def write_json(path: Path | str | None, figures: dict[str, Any]) -> None:
    """`--json PATH`: the figures, machine-readable; benchmarks/report.py reads them."""
    if path is not None:
        document = {**figures, "machine": machine(), "run": run_facts()}
        Path(path).write_text(json.dumps(document, indent=2) + "\n")
