"""Many live jobs at once, with realistic timelines compressed in time.

Each job queues 10-60 s and renders 20-90 s (job time); `--time-scale 0.5` (the default)
plays that twice as fast, and the bot's polling is scaled alike, so
requests per job are what they would be in real time. Reports the bot's CPU
per job and per job-minute, its peak RSS, RunComfy requests per job against
the minimum, Discord requests per second at peak (bot-token routes, which
share the 50/s global limit, and interaction routes, which do not), and the
lag from "completed" at RunComfy to the video posted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.pacing import BOT_REQUESTS_PER_SECOND
from benchmarks.common import (
    Rig,
    add_distance_options,
    machine,
    percentile,
    rig,
    summary,
    write_json,
)
from bot.config import Settings
from bot.domain import ImageFacts, Job, JobStatus
from bot.runcomfy.client import BASE_IN_FLIGHT
from bot.store import JobStore
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeUser, peak_per_second
from tests.fakes.runcomfy import Timeline
from tests.models import job_fields

# Status changes a job shows: each queue position, rendering, completed.
QUEUE_POSITIONS = (3, 2, 1)
# submit + each queue position + rendering + the /result that finds the video.
MIN_REQUESTS = 1 + len(QUEUE_POSITIONS) + 1 + 1
INTERACTION_ROUTES = ("/interactions/", "/webhooks/")
RUNCOMFY_BUDGET = Settings.model_fields["runcomfy_requests_per_second"].default
IN_FLIGHT_LOGGED = re.compile(r"up to (\d+) requests in flight")


def _route_shape(path: str) -> str:
    """`/api/v10/channels/123/messages` -> `channels/:id/messages`: requests grouped by route."""
    parts = path.split("/api/v10/", 1)[-1].split("/")
    return "/".join(":id" if part.isdigit() or len(part) > 20 else part for part in parts)


def live_settings(jobs: int, time_scale: float) -> dict[str, Any]:
    """Production intervals, scaled like the fake's timelines; quotas out of the way."""
    return {
        "runcomfy_time_scale": time_scale,
        "quota_user_concurrent": jobs,
        "quota_user_daily": jobs,
        "quota_global_concurrent": jobs,
        "poll_min_seconds": 2.0 * time_scale,
        "poll_max_seconds": 15.0 * time_scale,
        "default_eta_seconds": 90.0 * time_scale,
        "status_edit_interval_seconds": 5.0 * time_scale,
        "job_timeout_seconds": 1800.0 * time_scale,
        "http_timeout_seconds": 30.0,
        "runcomfy_requests_per_second": RUNCOMFY_BUDGET / time_scale,
    }


async def animate_many(r: Rig, jobs: int) -> list[FakeUser]:
    """`jobs` /animate invocations by 50 users, 100 at a time, until all are submitted."""
    users = [r.discord.add_user(f"user{i}") for i in range(50)]
    image = png()
    for batch in range(0, jobs, 100):
        await asyncio.gather(
            *(
                r.discord.invoke(
                    "animate",
                    image=r.discord.add_cdn_file(image, "photo.png", "image/png"),
                    prompt=f"job {i}",
                    user=users[i % len(users)],
                )
                for i in range(batch, min(jobs, batch + 100))
            )
        )
    await r.discord.wait_for(lambda: len(r.runcomfy.submits) == jobs, within=300)
    return users


def job_timelines(jobs: int, rng: random.Random) -> list[Timeline]:
    """The default timelines: queue 10-60 s, render 20-90 s (job time)."""
    return [
        Timeline(
            queue_positions=QUEUE_POSITIONS,
            queue_seconds=rng.uniform(10, 60),
            run_seconds=rng.uniform(20, 90),
            video_size=64 * 1024,
        )
        for _ in range(jobs)
    ]


async def seed_history(r: Rig, past: list[Timeline], time_scale: float, rng: random.Random) -> None:
    """Finished jobs of the same kind from the days before: a bot that has been running."""
    image = ImageFacts(filename="old.png", format="PNG", width=800, height=600, size_bytes=1)
    now = time.time()
    async with await JobStore.open(r.settings.database_path) as store:
        for i, t in enumerate(past):
            created = now - 3 * 86_400 + i * 300
            # As the bot records them: the start put halfway between the polls around
            # it (next in line, polled every 6 s: off by up to 3 s either way).
            started = created + (t.queue_seconds + rng.uniform(-3, 3)) * time_scale
            finished = created + (t.queue_seconds + t.run_seconds) * time_scale
            await store.create(
                Job(
                    user_id=1,
                    prompt="earlier",
                    **job_fields(),  # the kind the live jobs are (the defaults)
                    image=image,
                    status=JobStatus.DELIVERED,
                    created_at=created,
                    submitted_at=created,
                    started_at=started,
                    finished_at=finished,
                    delivered_at=finished,
                )
            )


async def main(
    jobs: int = 1000,
    time_scale: float = 0.5,
    seed: int = 1,
    json_path: Path | None = None,
    history: int = 50,
    latency: float = 0.0,
    connections: int | None = None,
) -> dict[str, float]:
    rng = random.Random(seed)
    timelines = job_timelines(jobs, rng)
    job_minutes = sum(t.queue_seconds + t.run_seconds for t in timelines) / 60
    settings = live_settings(jobs, time_scale)
    if connections is not None:
        settings["runcomfy_connections"] = connections
    async with rig(**settings) as r:
        r.runcomfy.latency = latency
        # All in one channel, which Discord lets take about 5 new messages per 5 s.
        r.discord.channel_post_limit = (5, 5.0)
        r.runcomfy.script(*timelines)
        await seed_history(r, job_timelines(history, rng), time_scale, rng)
        await r.bot.start()
        cpu_start = r.bot.cpu_seconds()
        fakes_cpu_start = time.process_time()
        started = time.monotonic()
        users = await animate_many(r, jobs)
        async with await JobStore.open(r.settings.database_path) as store:
            for _ in range(int(400 * time_scale + 300) * 2):  # bounded wait
                if not await store.count_active():
                    break
                await asyncio.sleep(0.5)
            cpu = r.bot.cpu_seconds() - cpu_start
            fakes_cpu = time.process_time() - fakes_cpu_start
            memory = r.bot.memory()
            delivered = [j for u in users for j in await store.list_for_user(u.id, limit=jobs)]
        elapsed = time.monotonic() - started
        # The bot logs each change of its in-flight limit (bot/inflight.py).
        limits = [int(n) for n in IN_FLIGHT_LOGGED.findall(r.bot.log.read_text(errors="replace"))]

        found_at: dict[str, float] = {}  # the first /result after each job completed
        completion = {
            rid: j.created + (j.timeline.queue_seconds + j.timeline.run_seconds) * time_scale
            for rid, j in r.runcomfy.jobs.items()
        }
        last_before: dict[str, float] = {}  # the last poll before it completed
        found_by: Counter[str] = Counter()
        for q in r.runcomfy.requests:
            if q.endpoint in ("result", "status"):
                rid = q.path.split("/")[3]
                if rid not in completion:
                    continue
                if q.at < completion[rid]:
                    last_before[rid] = q.at
                elif rid not in found_at:
                    found_at[rid] = q.at
                    found_by[q.endpoint] += 1
        detections = [(at - completion[rid]) / time_scale for rid, at in found_at.items()]
        # The poll interval that spanned each completion: the schedule's share of detection.
        straddles = [
            (at - last_before[rid]) / time_scale
            for rid, at in found_at.items()
            if rid in last_before
        ]
        fetched_at: dict[str, float] = {}  # the video download's start
        for q in r.runcomfy.requests:
            if q.endpoint == "video":
                fetched_at.setdefault(q.path.rsplit("/", 1)[-1].removesuffix(".mp4"), q.at)
        to_fetch = [
            (fetched_at[rid] - at) / time_scale for rid, at in found_at.items() if rid in fetched_at
        ]
        lags, to_post = [], []
        for job in delivered:
            fake_job = r.runcomfy.jobs[job.request_id or ""]
            t = fake_job.timeline
            completed_at = fake_job.created + (t.queue_seconds + t.run_seconds) * time_scale
            message = r.discord.messages.get(job.delivered_message_id or 0)
            if message is not None:
                lags.append((message.created_at - completed_at) / time_scale)
                fetched = fetched_at.get(job.request_id or "")
                if fetched is not None:
                    to_post.append((message.created_at - fetched) / time_scale)
        bot_routes = [
            q.at
            for q in r.discord.requests
            if q.path.startswith("/api/") and not any(p in q.path for p in INTERACTION_ROUTES)
        ]
        runcomfy_times = [q.at for q in r.runcomfy.requests if q.endpoint != "video"]
        runcomfy_calls = Counter(q.endpoint for q in r.runcomfy.requests if q.endpoint != "video")
        runcomfy_requests = sum(runcomfy_calls.values())
        discord_calls = Counter(
            f"{q.method} {_route_shape(q.path)}" for q in r.discord.requests if "/api/" in q.path
        )
        interaction_routes = [
            q.at for q in r.discord.requests if any(p in q.path for p in INTERACTION_ROUTES)
        ]

    figures = {
        "jobs": float(jobs),
        "delivered": float(sum(1 for j in delivered if j.delivered_message_id)),
        "cpu_ms_per_job": cpu / jobs * 1000,
        "cpu_ms_per_job_minute": cpu / job_minutes * 1000,
        "fakes_cpu_s": fakes_cpu,
        "peak_rss_mb": memory["VmHWM"] / 1e6,
        "runcomfy_requests_per_job": runcomfy_requests / jobs,
        "runcomfy_calls_per_job": runcomfy_requests / jobs,
        "runcomfy_calls_minimum": float(MIN_REQUESTS),
        "runcomfy_peak_5s_rps": peak_per_second(runcomfy_times, window=5.0) * time_scale,
        "runcomfy_in_flight_limit_max": float(max(limits, default=BASE_IN_FLIGHT)),
        "discord_bot_peak_rps": peak_per_second(bot_routes),
        "discord_bot_peak_5s_rps": peak_per_second(bot_routes, window=5.0),
        "discord_interaction_peak_rps": peak_per_second(interaction_routes),
        "lag_p50_s": percentile(lags, 0.5),
        "lag_p99_s": percentile(lags, 0.99),
        "detection_p50_s": percentile(detections, 0.5),
        "detection_p99_s": percentile(detections, 0.99),
        "straddle_p50_s": percentile(straddles, 0.5),
        "straddle_p99_s": percentile(straddles, 0.99),
        "found_to_download_p50_s": percentile(to_fetch, 0.5),
        "found_to_download_p99_s": percentile(to_fetch, 0.99),
        "download_to_posted_p50_s": percentile(to_post, 0.5),
        "download_to_posted_p99_s": percentile(to_post, 0.99),
        "runcomfy_latency_s": latency,
        "runcomfy_connections": r.settings.runcomfy_connections,
    }
    print(
        f"live jobs: {jobs} concurrent jobs ({history} past jobs of the kind in the database), "
        f"time scale {time_scale} "
        f"({elapsed:.0f} s wall, {job_minutes:.0f} job-minutes)"
    )
    if latency or connections is not None:
        print(
            f"  RunComfy {latency * 1000:.0f} ms away, "
            f"{r.settings.runcomfy_connections} connections to it"
        )
    print(f"  delivered {figures['delivered']:.0f}/{jobs}")
    print(
        f"  bot CPU {cpu:.1f} s: {figures['cpu_ms_per_job']:.1f} ms per job, "
        f"{figures['cpu_ms_per_job_minute']:.2f} ms per job-minute (target < 5)"
    )
    print(f"  the fakes (this process) used {fakes_cpu:.1f} s of CPU over {elapsed:.0f} s")
    print(f"  bot peak RSS {figures['peak_rss_mb']:.0f} MB (target < 300)")
    print(
        f"  RunComfy requests per job {figures['runcomfy_requests_per_job']:.1f} "
        f"(minimum {MIN_REQUESTS}: submit + {len(QUEUE_POSITIONS) + 1} status changes + "
        "the result; 7 while the end was seen on /status)"
    )
    print(
        f"  Discord peak requests/s: bot-token routes {figures['discord_bot_peak_rps']:.0f} "
        f"in the busiest second, {figures['discord_bot_peak_5s_rps']:.0f} over the busiest "
        f"5 s (global limit 50; the bot paces itself at {BOT_REQUESTS_PER_SECOND:.0f}); "
        f"interaction routes {figures['discord_interaction_peak_rps']:.0f} (no global limit)"
    )
    print(
        f"  lag completed -> video posted, in job time: {summary(lags, 's', 1.0)} "
        f"(target p50 <= 2 s, p99 <= 8 s)"
    )
    print(
        f"  of which completed -> first poll after it (detection): {summary(detections, 's', 1.0)}"
    )
    print(
        f"           the poll interval spanning the completion: {summary(straddles, 's', 1.0)}; "
        f"found by /result {found_by['result']}, by /status {found_by['status']}"
    )
    print(f"           that poll -> video download starts: {summary(to_fetch, 's', 1.0)}")
    print(f"           download starts -> video posted: {summary(to_post, 's', 1.0)}")
    print(
        f"  RunComfy requests/s over the busiest 5 s, in job time: "
        f"{figures['runcomfy_peak_5s_rps']:.0f} (budget {RUNCOMFY_BUDGET:.0f}/s), "
        f"at most {figures['runcomfy_in_flight_limit_max']:.0f} in flight"
    )
    print(
        "  RunComfy calls per job: "
        + ", ".join(f"{endpoint} {n / jobs:.1f}" for endpoint, n in runcomfy_calls.most_common())
    )
    print(
        "  Discord requests per job: "
        + ", ".join(f"{route} {n / jobs:.1f}" for route, n in discord_calls.most_common(8))
    )
    print(f"  machine: {machine()}")
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=0.5)
    parser.add_argument("--history", type=int, default=50, help="past jobs seeded (0: none)")
    add_distance_options(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.jobs,
            args.time_scale,
            json_path=args.json,
            history=args.history,
            latency=args.runcomfy_latency,
            connections=args.connections,
        )
    )
