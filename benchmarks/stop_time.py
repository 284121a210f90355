"""Seconds from SIGTERM to exit: idle, as PID 1, and with a command stuck mid-way.

`docker stop` sends SIGKILL 10 s after SIGTERM; every case must exit 0 well before.
The stuck command downloads an image the fake CDN holds for 30 s, so it waits out
the whole grace (SHUTDOWN_GRACE_SECONDS, default 5 s) and is then interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from benchmarks.common import machine, rig, write_json
from tests.cogs.animate.helpers import png
from tests.fakes.process import can_run_as_pid_1


async def one(case: str) -> tuple[int | None, float, float]:
    async with rig() as r:
        await r.bot.start(as_pid_1=case == "as PID 1")
        if case == "command stuck mid-way":
            r.discord.cdn_latency = 30.0
            await r.discord.invoke("animate", image=png(), prompt="a slow download")
            await r.discord.wait_for(lambda: r.discord.cdn_in_flight == 1, within=10)
        code, seconds = await r.bot.terminate()
        r.discord.release_cdn()
        return code, seconds, r.settings.shutdown_grace_seconds


async def main(json_path: Path | None = None) -> dict[str, float]:
    cases = ["idle", "command stuck mid-way"] + (["as PID 1"] if can_run_as_pid_1() else [])
    figures: dict[str, float] = {}
    print(f"stop_time ({machine()})")
    for case in cases:
        code, seconds, grace = await one(case)
        figures[case] = seconds
        print(f"  {case}: exit code {code} after {seconds:.2f} s (grace {grace:.0f} s; limit 10 s)")
    write_json(json_path, {f"{case.replace(' ', '_')}_s": v for case, v in figures.items()})
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    asyncio.run(main(parser.parse_args().json))
