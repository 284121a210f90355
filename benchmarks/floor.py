"""The floor under `tracking`: a bare httpx loop doing the same work, nothing else.

It watches the same jobs (ids given), polls each at the bot's measured rate
(`--interval` seconds per job, phases jittered), and sends one PATCH to the fake
Discord per change it sees: what any httpx-based bot must spend. It runs in its
own process and prints its CPU for the window as JSON, which `tracking` divides
the bot's CPU by. No database, no models, no discord.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import httpx


async def watch(
    http: httpx.AsyncClient,
    discord: httpx.AsyncClient,
    request_id: str,
    interval: float,
    until: float,
    rng: random.Random,
    last: object = None,
) -> int:
    changes = 0
    await asyncio.sleep(rng.uniform(0, interval))
    while time.monotonic() < until:
        answer = (await http.get(f"/v1/requests/{request_id}/status")).json()
        seen = (answer.get("status"), answer.get("queue_position"))
        if seen != last:
            last = seen
            changes += 1
            await discord.patch(
                f"/api/v10/channels/1/messages/{changes}", json={"content": str(seen)}
            )
        await asyncio.sleep(interval * rng.uniform(0.9, 1.1))
    return changes


async def main(args: argparse.Namespace) -> dict[str, float]:
    ids = [line.strip() for line in sys.stdin if line.strip()]
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
    headers = {"Authorization": f"Bearer {args.token}"}
    rng = random.Random(1)
    async with (
        httpx.AsyncClient(base_url=args.runcomfy, headers=headers, limits=limits) as http,
        httpx.AsyncClient(
            base_url=args.discord, headers={"Authorization": "Bot floor"}, limits=limits
        ) as discord,
    ):
        warm_until = time.monotonic() + args.warmup
        await asyncio.gather(
            *(watch(http, discord, i, args.interval, warm_until, rng) for i in ids)
        )
        cpu = time.process_time()
        until = time.monotonic() + args.window
        # Start from the state each job is in now: only real changes are PATCHed.
        now = [(await http.get(f"/v1/requests/{i}/status")).json() for i in ids]
        states = [(a.get("status"), a.get("queue_position")) for a in now]
        cpu = time.process_time()
        changes = await asyncio.gather(
            *(
                watch(http, discord, i, args.interval, until, rng, last=state)
                for i, state in zip(ids, states, strict=True)
            )
        )
        cpu = time.process_time() - cpu
    return {"cpu_seconds": cpu, "jobs": float(len(ids)), "changes": float(sum(changes))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runcomfy", required=True)
    parser.add_argument("--discord", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
