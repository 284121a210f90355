"""CPU per RunComfy request: httpx's own pool against the lane transport (bot/lanes.py).

The fake RunComfy runs in its own process, so only the client's CPU is counted. 1, 16
(the in-flight floor, what 1,000 live jobs keep busy over loopback) and 64 (the
connections' default ceiling, a RunComfy far away) requests are kept in flight at once;
each configuration holds that many connections.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

import httpx

from benchmarks.common import machine, write_json
from bot.config import DEFAULT_MODEL_ID
from bot.lanes import LaneTransport
from bot.runcomfy.client import BASE_IN_FLIGHT, DEFAULT_CONNECTIONS

TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def cpu_per_request(http: httpx.AsyncClient, concurrency: int, requests: int) -> float:
    """Milliseconds of this process's CPU per request, `concurrency` at a time."""
    path = f"/v1/models/{DEFAULT_MODEL_ID}"

    async def worker(count: int) -> None:
        for _ in range(count):
            (await http.get(path)).json()

    await asyncio.gather(*(worker(20) for _ in range(concurrency)))  # connections warm
    started = time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / (requests // concurrency * concurrency) * 1000


async def main(requests: int = 4000, json_path: Path | None = None) -> dict[str, float]:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.runcomfy",
        "--port",
        str(port),
        "--token",
        TOKEN,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        await asyncio.wait_for(server.stdout.readline(), timeout=30)  # its "listening" line
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        figures: dict[str, float] = {}
        for concurrency in (1, BASE_IN_FLIGHT, DEFAULT_CONNECTIONS):
            pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            async with httpx.AsyncClient(base_url=base, headers=headers, limits=pool) as http:
                figures[f"pool_ms_c{concurrency}"] = await cpu_per_request(
                    http, concurrency, requests
                )
            lanes = LaneTransport(concurrency)
            async with httpx.AsyncClient(base_url=base, headers=headers, transport=lanes) as http:
                figures[f"lanes_ms_c{concurrency}"] = await cpu_per_request(
                    http, concurrency, requests
                )
            print(
                f"{concurrency:2d} in flight on {concurrency} connections: httpx's pool "
                f"{figures[f'pool_ms_c{concurrency}']:.2f} ms CPU per request, lanes "
                f"{figures[f'lanes_ms_c{concurrency}']:.2f} ms ({requests} requests each)"
            )
    finally:
        server.terminate()
        await server.wait()
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.json))
