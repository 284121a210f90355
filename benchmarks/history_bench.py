"""Database time of one /history page for a user with 10,000 jobs.

Target: well under 50 ms. Measures HistoryService.page (a count and a page
query, both on the `jobs_history` index) on a temp SQLite file that also holds
other users' jobs; then the quota check (one query) after the user cleared all.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, summary, write_json
from bot.domain import ImageFacts, Job, JobStatus
from bot.history import HistoryService, StatusFilter
from bot.store import JobStore
from tests.models import job_fields

JOBS = 10_000
OTHERS = 20_000
REPEATS = 200
STATES = [JobStatus.DELIVERED] * 6 + [JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT]
IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1)


async def fill(store: JobStore) -> None:
    for i in range(JOBS + OTHERS):
        user = 1 if i % 3 == 0 and i // 3 < JOBS else 2 + i % 500
        await store.create(
            Job(
                user_id=user,
                prompt="a prompt " * 20,
                image=IMAGE,
                created_at=1e9 + i,
                status=STATES[i % len(STATES)],
                **job_fields(),
            )
        )


async def main(json_path: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with await JobStore.open(Path(tmp) / "bench.db") as store:
            await fill(store)
            service = HistoryService(store)
            total = await store.count_for_user(1)
            figures: dict[str, float] = {}
            cases = [
                ("first page", StatusFilter.ALL, 0),
                ("middle page", StatusFilter.ALL, total // 20),
                ("last page", StatusFilter.ALL, 10**6),
                ("failed filter", StatusFilter.FAILED, 0),
            ]
            print(
                f"history: one page of 10 for a user with {total:,} jobs "
                f"({JOBS + OTHERS:,} rows in all), {REPEATS} runs each"
            )
            for name, status, page in cases:
                times = []
                for _ in range(REPEATS):
                    began = time.perf_counter()
                    await service.page(1, status=status, page=page)
                    times.append(time.perf_counter() - began)
                print(f"  {name}: {summary(times)}")
                figures[name] = sorted(times)[int(REPEATS * 0.99)]
            # The quota check runs before every defer; cleared rows count like any other.
            await store.clear_for_user(1, now=2e9)
            times = []
            for _ in range(REPEATS):
                began = time.perf_counter()
                await store.quota_usage(1, since=0.0)
                times.append(time.perf_counter() - began)
            print(f"  quota check (every job in the window, all cleared): {summary(times)}")
            figures["quota check"] = sorted(times)[int(REPEATS * 0.99)]
    print(f"  machine: {machine()}")
    write_json(
        json_path, {f"{name.replace(' ', '_')}_p99_ms": v * 1000 for name, v in figures.items()}
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    asyncio.run(main(parser.parse_args().json))
