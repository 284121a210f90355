"""Live jobs across two bot processes on one PostgreSQL, next to one process on SQLite.

The same timelines as `benchmarks.live_jobs` (queue 10-60 s, render 20-90 s of job
time, played at `--time-scale`), run twice: one bot process on SQLite, then two
processes sharing a PostgreSQL database (A runs shards 0-1 and gets the DM jobs, B
shard 2 and the guild jobs). Reports CPU per job-minute (both processes together)
and database statements per job-minute: pg_stat_statements on PostgreSQL (every
statement the bots sent, leases included), SQLite's are not counted (in-process).

Without --database-url a throwaway cluster is started with `.ci/postgres`.

    python -m benchmarks.multi_process [--jobs 1000] [--time-scale 0.5] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.common import machine
from benchmarks.live_jobs import QUEUE_POSITIONS, live_settings
from bot.config import Settings
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import RUNCOMFY_TOKEN, settings_for_fakes
from tests.fakes.process import REPO, BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline

SHARDS = 3  # the fake guild is on shard 2 of 3; DMs on shard 0
LEASE_SECONDS = 30.0


def timelines(jobs: int, seed: int) -> list[Timeline]:
    rng = random.Random(seed)
    return [
        Timeline(
            queue_positions=QUEUE_POSITIONS,
            queue_seconds=rng.uniform(10, 60),
            run_seconds=rng.uniform(20, 90),
            video_size=64 * 1024,
        )
        for _ in range(jobs)
    ]


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="animate-pg-") as tmp:
        script = str(REPO / ".ci" / "postgres")
        url = subprocess.run(
            [script, "start", tmp], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            yield url
        finally:
            subprocess.run([script, "stop", tmp], check=False)


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new database on `server` (its statement counts are its own); dropped afterwards."""
    name = f"bench_{int(time.time())}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        base, _, _ = server.rpartition("/")
        yield f"{base}/{name}"
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def statements(url: str) -> int | None:
    """Statements run in this database so far (pg_stat_statements), None if unavailable."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        value = await conn.fetchval(
            "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query !~* 'pg_stat_statements'"
        )
        return int(value)
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


async def run(
    jobs: int,
    time_scale: float,
    seed: int,
    *,
    database_url: str | None,
    workdir: Path,
    keep: Path | None = None,
) -> dict[str, float]:
    """One run: one process on SQLite (database_url None) or two on PostgreSQL."""
    plan = timelines(jobs, seed)
    job_minutes = sum(t.queue_seconds + t.run_seconds for t in plan) / 60
    discord_fake = FakeDiscord()
    await discord_fake.start()
    runcomfy_fake = FakeRunComfy(token=RUNCOMFY_TOKEN, time_scale=time_scale)
    await runcomfy_fake.start()
    runcomfy_fake.script(*plan)
    overrides = live_settings(jobs, time_scale)
    overrides.pop("runcomfy_time_scale")
    base: Settings = settings_for_fakes(
        discord_fake, runcomfy_fake, workdir / "bot.db", **overrides
    )
    if database_url is None:
        processes = [BotProcess(base, discord_fake, workdir / "sqlite.log")]
    else:
        shared = base.model_copy(
            update={
                "database_url": database_url,
                "shard_count": SHARDS,
                "lease_seconds": LEASE_SECONDS,
            }
        )
        processes = [
            BotProcess(
                shared.model_copy(update={"process_id": f"bench-{name}", "shard_ids": shards}),
                discord_fake,
                workdir / f"pg-{name}.log",
            )
            for name, shards in (("a", [0, 1]), ("b", [2]))
        ]
    try:
        for process in processes:
            await process.start()
        await discord_fake.wait_for(
            lambda: all("Ready as" in p.log.read_text() for p in processes), within=60
        )
        before = await statements(database_url) if database_url else None
        cpu_start = [p.cpu_seconds() for p in processes]
        started = time.monotonic()
        users = [discord_fake.add_user(f"user{i}") for i in range(50)]
        image = png()
        for batch in range(0, jobs, 100):
            await asyncio.gather(
                *(
                    discord_fake.invoke(
                        "animate",
                        image=discord_fake.add_cdn_file(image, "photo.png", "image/png"),
                        prompt=f"job {i}",
                        user=users[i % len(users)],
                        # Two processes: half the jobs arrive on each (DMs on A's shard 0).
                        dm=database_url is not None and i % 2 == 0,
                    )
                    for i in range(batch, min(jobs, batch + 100))
                )
            )

        def videos() -> int:
            return sum(
                1
                for m in discord_fake.messages.values()
                if m.attachments and m.attachments[0].filename.endswith(".mp4")
            )

        # Waiting on the fake, not the database: the statement count is the bots' alone.
        with contextlib.suppress(TimeoutError):  # reported as "delivered n/N"
            await discord_fake.wait_for(lambda: videos() >= jobs, within=200 * time_scale + 600)
        elapsed = time.monotonic() - started
        cpu = [p.cpu_seconds() - c for p, c in zip(processes, cpu_start, strict=True)]
        after = await statements(database_url) if database_url else None
    finally:
        for process in processes:
            await process.stop()
        if keep is not None:
            for process in processes:
                shutil.copy(process.log, keep / process.log.name)
        await runcomfy_fake.close()
        await discord_fake.close()
    figures = {
        "jobs": float(jobs),
        "processes": float(len(processes)),
        "delivered": float(videos()),
        "job_minutes": job_minutes,
        "wall_seconds": elapsed,
        "cpu_ms_per_job_minute": sum(cpu) / job_minutes * 1000,
    }
    for index, seconds in enumerate(cpu):
        figures[f"cpu_ms_per_job_minute_process_{index}"] = seconds / job_minutes * 1000
    if before is not None and after is not None:
        figures["db_statements_per_job_minute"] = (after - before) / job_minutes
        figures["db_statements_per_job"] = (after - before) / jobs
    return figures


async def main(
    jobs: int = 1000,
    time_scale: float = 0.5,
    seed: int = 1,
    database_url: str | None = None,
    json_path: Path | None = None,
    keep: Path | None = None,
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="animate-bench-")))
        server = database_url or stack.enter_context(throwaway_cluster())
        (tmp / "sqlite").mkdir()
        (tmp / "pg").mkdir()
        sqlite = await run(
            jobs, time_scale, seed, database_url=None, workdir=tmp / "sqlite", keep=keep
        )
        async with fresh_database(server) as url:
            postgres = await run(
                jobs, time_scale, seed, database_url=url, workdir=tmp / "pg", keep=keep
            )
    result = {"sqlite_one_process": sqlite, "postgres_two_processes": postgres}
    print(f"multi process: {jobs} live jobs, time scale {time_scale}")
    for name, figures in result.items():
        line = (
            f"  {name}: delivered {figures['delivered']:.0f}/{jobs}, "
            f"CPU {figures['cpu_ms_per_job_minute']:.2f} ms per job-minute (all processes)"
        )
        if "db_statements_per_job_minute" in figures:
            line += (
                f", PostgreSQL {figures['db_statements_per_job_minute']:.1f} statements "
                f"per job-minute ({figures['db_statements_per_job']:.1f} per job)"
            )
        print(line)
    print(f"  machine: {machine()}")
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=0.5)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the bots' logs here")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.jobs,
            args.time_scale,
            database_url=args.database_url,
            json_path=args.json,
            keep=args.keep_logs,
        )
    )
