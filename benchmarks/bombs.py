"""Decompression bombs: the bot process's peak memory under eight at once (issue 27, #5).

    python -m benchmarks.bombs [--kinds palette,rgba] [--json PATH]

The real bot runs as its own process against the loopback fakes. A 7999x7999 PNG of
a few kB (`palette`: 8 kB, the issue's; `rgba`: the most bytes per pixel Pillow holds
for a PNG) is sent with eight /animate at once, by one user, then by eight users. Each
scenario starts a fresh process and waits until every author has an answer (a status
message or a refusal). Printed: the process's peak resident memory (VmHWM, from /proc)
once connected and after the eight, and whether it survived. Target: under 600 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine, rig, write_json
from tests.bot.images.bombs import SIDE, bomb_png
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.runcomfy import Timeline

COMMANDS = 8
KINDS = ("palette", "rgba")
TARGET_MB = 600
WITHIN_SECONDS = 300.0


def started(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """The job's status message is up."""
    message = fake.messages.get(ix.original_id or 0)
    return message is not None and not message.deleted and bool(message.embeds)


def answered(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """The author has an answer: the job's status message, or why not (a followup)."""
    return started(fake, ix) or bool(ix.followup_ids)


async def scenario(kind: str, users_count: int) -> dict[str, float]:
    """Eight commands with the `kind` bomb from `users_count` users; the bot's memory."""
    settings: dict[str, Any] = {
        "quota_user_concurrent": COMMANDS,
        "quota_user_daily": COMMANDS,
        "quota_global_concurrent": COMMANDS,
        "http_timeout_seconds": 30.0,
    }
    data = bomb_png(kind)
    async with rig(**settings) as r:
        users = [r.discord.add_user(f"user{i}") for i in range(users_count)]
        # Queued until the end: only the images' work is measured.
        r.runcomfy.script(*(Timeline(manual=True) for _ in range(COMMANDS)))
        await r.bot.start()
        connected = r.bot.memory()["VmHWM"]
        began = time.monotonic()
        interactions = await asyncio.gather(
            *(
                r.discord.invoke(
                    "animate", image=data, prompt=f"bomb {i}", user=users[i % users_count]
                )
                for i in range(COMMANDS)
            )
        )
        proc = r.bot.proc
        assert proc is not None

        def settled() -> bool:
            return proc.returncode is not None or all(
                answered(r.discord, ix) for ix in interactions
            )

        await r.discord.wait_for(settled, within=WITHIN_SECONDS)
        seconds = time.monotonic() - began
        alive = proc.returncode is None
        peak = r.bot.memory()["VmHWM"] if alive else float("nan")
        jobs = sum(1 for ix in interactions if started(r.discord, ix))
        refused = sum(1 for ix in interactions if not started(r.discord, ix) and ix.followup_ids)
    return {
        "connected_mb": connected / 1e6,
        "peak_mb": peak / 1e6,
        "alive": float(alive),
        "started": float(jobs),
        "refused": float(refused),
        "seconds": seconds,
    }


async def main(kinds: tuple[str, ...] = KINDS, json_path: Path | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    print(f"decompression bombs: {COMMANDS} /animate at once with a {SIDE}x{SIDE} PNG")
    for kind in kinds:
        size_kb = len(bomb_png(kind)) / 1e3
        for users_count, label in ((1, "one_user"), (COMMANDS, "eight_users")):
            result = await scenario(kind, users_count)
            for name, value in result.items():
                figures[f"{kind}_{label}_{name}"] = value
            state = "alive" if result["alive"] else "DIED"
            print(
                f"  {kind:7s} ({size_kb:.0f} kB), {label.replace('_', ' '):11s}: "
                f"peak RSS {result['connected_mb']:.0f} MB connected -> "
                f"{result['peak_mb']:.0f} MB (target < {TARGET_MB}); {state}; "
                f"{result['started']:.0f} started, {result['refused']:.0f} refused, "
                f"{result['seconds']:.1f} s"
            )
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", default=",".join(KINDS), help="palette, grey, rgb, rgba")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(tuple(args.kinds.split(",")), args.json))
