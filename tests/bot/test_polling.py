"""The polling policies, the request budget's lanes, and tracking against the fake."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.domain import JobStatus
from bot.jobs import POLL_COST_FRACTION, JobService
from bot.models.registry import Models
from bot.polling import (
    MIN_SAMPLES,
    MIN_SIGMA,
    HazardPolicy,
    PollPolicy,
    RenderTimes,
    expected_render_seconds,
)
from bot.ratelimit import RateBudget
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.bot.jobs.harness import TOKEN, Harness, RecordingObserver, make_settings
from tests.fakes.runcomfy import FakeRunComfy, Timeline


def simulate(render_seconds: float, expected: float, policy: PollPolicy) -> tuple[int, float]:
    """Polls needed and delivery lag for a job that ends at `render_seconds`."""
    rng = random.Random(7)
    now = 0.0
    for polls in range(1, 1000):
        if now >= render_seconds:
            return polls, now - render_seconds
        now += policy.next_delay(now=now, expected_end=expected, rng=rng)
    raise AssertionError("never finished")


def test_a_60s_render_costs_few_requests_and_little_lag() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    polls, lag = simulate(60, expected=60, policy=policy)
    assert polls <= 16
    assert lag <= 2.5


def test_a_render_longer_than_expected_backs_off_with_the_overrun() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    # Just past the estimate: still dense, so the lag stays small.
    polls, lag = simulate(66, expected=60, policy=policy)
    assert lag <= 2.5
    # Twice the estimate: the lag stays within a quarter of the 60 s overrun, at
    # 13 requests after the ETA where polling at `min_delay` would have cost 30.
    polls, lag = simulate(120, expected=60, policy=policy)
    assert lag <= 60 / 4 + 2
    assert polls <= 25


def test_delays_stay_within_bounds() -> None:
    policy = PollPolicy(min_delay=2.0, max_delay=15.0, jitter=0.1)
    rng = random.Random(1)
    for now in range(0, 500, 7):
        delay = policy.next_delay(now=float(now), expected_end=200.0, rng=rng)
        assert 1.8 <= delay <= 16.5
    assert 7.5 <= policy.next_delay(now=0, expected_end=None, rng=rng) <= 22.5


def test_polls_with_no_deadline_spread_wide_at_the_same_mean() -> None:
    # Jobs sent in one burst poll in waves at max_delay: a tenth of jitter takes many
    # polls to spread them, and each wave holds up the polls that are due.
    policy = PollPolicy(min_delay=2.0, max_delay=15.0)
    rng = random.Random(4)
    delays = [policy.next_delay(now=0, expected_end=None, rng=rng) for _ in range(2000)]
    assert statistics.fmean(delays) == pytest.approx(15.0, rel=0.03)
    assert min(delays) < 9 and max(delays) > 21
    # Converging on an ETA keeps the narrow jitter: there the timing is the point.
    near = [policy.next_delay(now=0, expected_end=20.0, rng=rng) for _ in range(200)]
    assert min(near) >= 9 and max(near) <= 11


def test_expected_render_is_the_median_of_enough_past_jobs() -> None:
    assert expected_render_seconds([], default=120) == 120
    assert expected_render_seconds([10, 20], default=120) == 120
    assert expected_render_seconds([10, 20, 30, 400], default=120) == 25


# --- The hazard-aware policy ------------------------------------------------------------------


def lognormal_renders(median: float, sigma: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [median * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def uniform_renders(low: float, high: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def fitted(samples: list[float]) -> RenderTimes:
    times = RenderTimes.fit(samples)
    assert times is not None
    return times


# Production's, in job time.
POLICY = HazardPolicy(min_delay=2.0, max_delay=15.0, poll_cost=2.0 * POLL_COST_FRACTION)


def simulate_hazard(
    renders: list[float], times: RenderTimes, policy: HazardPolicy = POLICY, seed: int = 5
) -> tuple[list[int], list[float]]:
    """Polls and lag per render, for jobs whose render clock starts at 0."""
    rng = random.Random(seed)
    polls, lags = [], []
    for render in renders:
        elapsed, count = 0.0, 0
        while elapsed < render:
            elapsed += policy.next_delay(elapsed=elapsed, times=times, rng=rng)
            count += 1
        polls.append(count)
        lags.append(elapsed - render)
    return polls, lags


def p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * len(values))]


def test_render_times_need_a_handful_of_samples() -> None:
    assert RenderTimes.fit([30.0] * (MIN_SAMPLES - 1)) is None
    assert RenderTimes.fit([0.0, -1.0] + [30.0] * (MIN_SAMPLES - 1)) is None  # junk ignored
    times = fitted(lognormal_renders(60, 0.3, 400, seed=1))
    assert times.count == 400
    assert 55 < times.median < 65 and 0.25 < times.sigma < 0.35
    assert times.quantile(0.05) < times.median < times.quantile(0.95) < times.longest
    # Identical samples still leave some spread (no infinite hazard spike).
    same = fitted([40.0] * 10)
    assert same.sigma == MIN_SIGMA and math.isfinite(same.hazard(40.0))


def test_hazard_is_nil_before_the_first_renders_and_high_where_they_end() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    assert times.hazard(0) == 0 and times.hazard(10) < 1e-4
    assert times.hazard(30) < times.hazard(60) and times.hazard(60) > 0.02
    # Renders that start sharply (none under 20 s, then as many each second): the
    # hazard follows the samples, not a bell curve, and is real from 20 s on.
    sharp = fitted(uniform_renders(20, 90, 50, seed=3))
    assert sharp.hazard(12) < 0.2 * sharp.hazard(22)
    assert sharp.hazard(22) > 0.5 / 70


def test_interval_follows_one_over_root_hazard() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    policy = HazardPolicy(min_delay=0.5, max_delay=15.0, poll_cost=0.2, jitter=0.0)
    rng = random.Random(1)
    for elapsed in range(0, int(times.longest), 3):  # past it, the overrun rule
        delay = policy.next_delay(elapsed=float(elapsed), times=times, rng=rng)
        hazard = times.hazard(elapsed)
        ideal = math.sqrt(2 * 0.2 / hazard) if hazard > 0 else math.inf
        # Never longer than ideal now (a later, busier moment can only shorten it)...
        bound = 15.0 + min(15.0, max(0.0, times.first_end - elapsed))  # see the next test
        assert delay <= max(0.5, min(bound, ideal)) + 1e-9, elapsed
    # ...and where the hazard is flat, it is sqrt(2c/h).
    elapsed = times.median
    delay = policy.next_delay(elapsed=elapsed, times=times, rng=rng)
    hazard = max(times.hazard(elapsed + s / 10 * delay) for s in range(11))
    assert delay == pytest.approx(math.sqrt(2 * 0.2 / hazard), rel=0.15)


def test_hazard_policy_is_sparse_early_dense_near_the_end_and_bounded() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    rng = random.Random(2)
    assert POLICY.next_delay(elapsed=1.0, times=times, rng=rng) >= 13.5  # cannot be done yet
    assert POLICY.next_delay(elapsed=60.0, times=times, rng=rng) <= 4.0  # usually ends now
    for elapsed in range(0, 2000, 13):
        delay = POLICY.next_delay(elapsed=float(elapsed), times=times, rng=rng)
        assert 1.8 <= delay <= (33.0 if elapsed < times.first_end else 16.5), elapsed


def test_before_any_render_of_the_kind_could_end_the_wait_runs_to_where_they_start() -> None:
    past = uniform_renders(20, 90, 50, seed=3)
    times = fitted(past)
    assert 15.0 < times.first_end < min(past)
    policy = HazardPolicy(min_delay=2.0, max_delay=15.0, poll_cost=0.2, jitter=0.0)
    rng = random.Random(4)
    first = policy.next_delay(elapsed=0.0, times=times, rng=rng)
    # Past max_delay (a poll at 15 s could only have said "still rendering"), but
    # asked again before the shortest render seen could have ended.
    assert 15.0 < first < min(past)
    # Seen queued 8 s before seen rendering: it may have run 8 s more than it seems,
    # so the quiet stretch ends 8 s sooner (and the wait never passes the shortest render).
    unsure = policy.next_delay(elapsed=0.0, times=times, rng=rng, elapsed_at_most=8.0)
    assert unsure <= times.first_end - 8.0 + 15.0 and unsure < min(past)
    # Unsure by more than the quiet stretch: none left, the hazard alone decides.
    quiet_gone = policy.next_delay(elapsed=0.0, times=times, rng=rng, elapsed_at_most=30.0)
    assert quiet_gone <= 15.0
    # Renders of 10 minutes: still polled at least every twice max_delay.
    slow = fitted(lognormal_renders(600, 0.1, 50, seed=2))
    assert policy.next_delay(elapsed=0.0, times=slow, rng=rng) == 2 * 15.0


def test_a_job_past_every_past_render_backs_off_with_the_overrun() -> None:
    times = fitted(lognormal_renders(60, 0.1, 50, seed=2))  # narrow: a steep tail hazard
    rng = random.Random(3)
    elapsed, polls = times.longest, 0
    while elapsed < times.longest + 600:  # stuck for 10 minutes
        elapsed += POLICY.next_delay(elapsed=elapsed, times=times, rng=rng)
        polls += 1
    assert polls <= 60  # 30 a minute at min_delay would be 300
    late = POLICY.next_delay(elapsed=times.longest + 40, times=times, rng=rng)
    assert late >= 40 / 4 * 0.9


def test_hazard_policy_meets_the_issue_targets_in_simulation() -> None:
    """p50 lag <= 2 s, p99 <= 8 s, 10-13 render polls: log-σ up to 0.3, or a sharp start."""
    cases = {
        f"log-normal σ {sigma}": (
            lognormal_renders(60, sigma, 50, 3),
            lognormal_renders(60, sigma, 500, 4),
        )
        for sigma in (0.1, 0.2, 0.3)
    }
    cases["uniform 20-90 s"] = (uniform_renders(20, 90, 50, 3), uniform_renders(20, 90, 500, 4))
    for name, (past, renders) in cases.items():
        polls, lags = simulate_hazard(renders, fitted(past))
        assert statistics.median(lags) <= 2.0, name
        assert p99(lags) <= 8.0, name
        # The ETA-halving policy aimed at the median: about as many polls, a worse tail.
        old = [
            simulate(r, expected=statistics.median(past), policy=PollPolicy(2, 15)) for r in renders
        ]
        assert statistics.fmean(polls) <= statistics.fmean(p for p, _ in old) + 2, name
        assert statistics.fmean(polls) <= 13.5, name
        assert p99(lags) < p99([lag for _, lag in old]), name


def test_jitter_breaks_lockstep() -> None:
    times = fitted(lognormal_renders(60, 0.3, 50, seed=2))
    rng = random.Random(3)
    delays = {round(POLICY.next_delay(elapsed=50.0, times=times, rng=rng), 6) for _ in range(20)}
    assert len(delays) == 20


# --- The request budget's lanes ---------------------------------------------------------------


async def test_urgent_callers_never_wait_behind_sparse_ones() -> None:
    budget = RateBudget(rate=40, burst=1)
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await budget.acquire(urgent=urgent)
        order.append(name)

    sparse = [asyncio.create_task(take(f"sparse{i}", False)) for i in range(8)]
    await asyncio.sleep(0.01)  # the sparse ones queue first
    urgent = asyncio.create_task(take("urgent", True))
    await asyncio.wait_for(asyncio.gather(*sparse, urgent), 5)
    # One sparse had the only token; the urgent one goes next, before the 7 others.
    assert order.index("urgent") <= 2
    assert len(order) == 9


async def test_a_sparse_caller_is_not_starved_by_a_steady_urgent_stream() -> None:
    """At a burst's peak urgent polls never stop: a sparse one still goes within patience."""
    budget = RateBudget(rate=1000, burst=1000, concurrency=1, sparse_patience=0.2)
    stop = asyncio.Event()

    async def urgent_caller() -> None:
        while not stop.is_set():
            await budget.acquire(urgent=True)
            await asyncio.sleep(0.01)  # the request
            budget.release()

    flood = [asyncio.create_task(urgent_caller()) for _ in range(4)]
    await asyncio.sleep(0.05)
    began = time.monotonic()
    await asyncio.wait_for(budget.acquire(), 5)
    waited = time.monotonic() - began
    budget.release()
    stop.set()
    await asyncio.gather(*flood)
    assert 0.15 < waited < 0.5  # behind urgent ones first, but not for as long as they come


async def test_callers_arriving_faster_than_tokens_still_get_the_full_rate() -> None:
    """A waiter arriving every 2 ms must not push the refill back each time (starvation)."""
    budget = RateBudget(rate=100, burst=1)
    served: list[float] = []

    async def take() -> None:
        await budget.acquire()
        served.append(time.monotonic())

    began = time.monotonic()
    takers = []
    for _ in range(150):  # 0.3 s of arrivals at 500/s
        takers.append(asyncio.create_task(take()))
        await asyncio.sleep(0.002)
    await asyncio.wait_for(asyncio.gather(*takers), 5)
    # At 100/s, about 30 are served while they keep arriving (not ~1).
    assert sum(1 for at in served if at - began < 0.3) >= 15


async def test_a_cancelled_waiter_frees_its_place() -> None:
    budget = RateBudget(rate=20, burst=1)
    await budget.acquire()
    waiter = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    assert budget.waiting == 0
    await asyncio.wait_for(budget.acquire(urgent=True), 1)  # the bucket still works


# --- Tracking against the fake ----------------------------------------------------------------


@pytest.fixture
async def tracking(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Like test_jobs' harness, with a request budget when asked for one."""
    stack: list[tuple[JobService, JobStore, httpx.AsyncClient]] = []
    fakes: list[FakeRunComfy] = []

    async def build(
        fake: FakeRunComfy | None = None, rate: float | None = None, **overrides: object
    ) -> Harness:
        if fake is None:
            fake = FakeRunComfy(token=TOKEN)
            await fake.start()
            fakes.append(fake)
        settings = make_settings(tmp_path, fake.base_url, **overrides)
        http = make_http_client(fake.base_url, settings.runcomfy_api_token, 2.0)
        store = await JobStore.open(settings.database_path)
        client = RunComfyClient(http, backoff_base=0.01, requests_per_second=rate)
        models = Models(client, store, settings.model_ids)
        await models.load()
        service = JobService(settings=settings, store=store, runcomfy=client, models=models)
        service.observer = RecordingObserver()
        stack.append((service, store, http))
        return Harness(service, service.observer, fake)

    yield build
    for service, store, http in reversed(stack):
        await service.close()
        await store.close()
        await http.aclose()
    for fake in fakes:
        await fake.close()


def requests_after(fake: FakeRunComfy, endpoint: str, moment: float) -> int:
    return sum(1 for r in fake.requests if r.endpoint == endpoint and r.at > moment)


async def test_fake_result_answers_the_current_state_before_the_end(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.request_id is not None
    client = h.service.runcomfy
    queued = await client.result(job.request_id)
    assert (queued.status, queued.output, queued.video_url) == ("in_queue", None, None)
    h.fake.set_state(job.request_id, "in_progress")
    running = await client.result(job.request_id)
    assert (running.status, running.output) == ("in_progress", None)
    await h.service.close()


async def test_rendering_is_polled_on_result_and_the_video_needs_no_extra_call(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.15, run_seconds=0.4))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED)
    fake_job = h.fake.jobs[job.request_id]
    render_start = fake_job.created + fake_job.timeline.queue_seconds
    render_end = render_start + fake_job.timeline.run_seconds
    # /status only while queued: at most the one poll that saw the render start...
    assert requests_after(h.fake, "status", render_start) <= 1
    assert requests_after(h.fake, "result", render_start) >= 2
    # ...and the /result that found the video was the last call: straight to delivery.
    assert requests_after(h.fake, "result", render_end) == 1
    done = await h.service.store.get(job.id)
    assert done is not None and done.cost == pytest.approx(0.12)


async def test_done_without_a_video_is_handed_to_the_result_fetch(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(
        Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=0.2, result_empty_answers=2)
    )
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    done = await h.wait_status(job.id, JobStatus.DELIVERED)
    assert done.video_url == h.fake.video_url(job.request_id)
    assert len(h.observer.delivered) == 1
    fake_job = h.fake.jobs[job.request_id]
    assert fake_job.empty_results == 2  # asked again until the video came


async def test_failure_seen_on_result_carries_its_reason(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(
        Timeline(
            queue_positions=(1,),
            queue_seconds=0.05,
            run_seconds=0.2,
            outcome="failed",
            error="content policy",
        )
    )
    job = await h.start_job()
    assert job.id is not None
    failed = await h.wait_status(job.id, JobStatus.FAILED)
    assert "content policy" in (failed.error or "")


async def test_the_render_start_is_put_between_the_polls_around_it(tracking) -> None:
    # Seen first by a poll up to POLL_MAX_SECONDS after it happened, a start recorded
    # as "when we saw it" runs the render clock late: the hazard schedule then waits
    # sparsely through the renders that end soonest. Halfway is the unbiased guess.
    h: Harness = await tracking(poll_min_seconds=0.3, poll_max_seconds=0.3)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    assert job.id is not None and job.request_id is not None
    await asyncio.sleep(0.5)
    flipped = time.monotonic()
    h.fake.set_state(job.request_id, "in_progress")
    running = await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    polls = [q.at for q in h.fake.requests if q.endpoint in ("status", "result")]
    last_queued = max(at for at in polls if at < flipped)
    first_running = min(at for at in polls if at > flipped)
    (submit,) = [q.at for q in h.fake.requests if q.endpoint == "submit"]
    assert running.started_at is not None and running.submitted_at is not None
    seen = running.started_at - running.submitted_at
    assert seen == pytest.approx((last_queued + first_running) / 2 - submit, abs=0.05)
    await h.service.close()


async def test_the_submit_answer_is_the_first_queued_poll(tracking) -> None:
    # RunComfy took the job, so it is queued: a /status at once only told its place in
    # line (one call of each job's 14), which the next poll tells as well.
    h: Harness = await tracking(poll_min_seconds=0.3, poll_max_seconds=0.6)
    h.fake.script(Timeline(queue_positions=(2, 1), queue_seconds=1.2, run_seconds=0.2))
    job = await h.start_job()
    assert job.id is not None
    (submit,) = [q.at for q in h.fake.requests if q.endpoint == "submit"]
    await h.wait_status(job.id, JobStatus.DELIVERED)
    first = min(q.at for q in h.fake.requests if q.endpoint in ("status", "result"))
    assert first - submit >= 0.3 * 0.9  # min_delay, less its jitter
    shown = {u.queue_position for u in h.observer.updates if u.status is JobStatus.IN_QUEUE}
    assert shown & {2, 1}  # the place in line still shows


async def test_a_resumed_queued_job_is_polled_at_once(tracking) -> None:
    # Unlike a submit, a restart knows nothing of a job's state: its first poll is due.
    first: Harness = await tracking(poll_min_seconds=2.0, poll_max_seconds=4.0)
    first.fake.script(Timeline(manual=True))
    job = await first.start_job()
    await first.service.close()
    h: Harness = await tracking(fake=first.fake, poll_min_seconds=2.0, poll_max_seconds=4.0)
    resumed = time.monotonic()
    assert await h.service.resume() == 1
    for _ in range(100):  # bounded: 1 s
        if requests_after(h.fake, "status", resumed):
            break
        await asyncio.sleep(0.01)
    assert requests_after(h.fake, "status", resumed) == 1, job
    await h.service.close()


async def test_queue_moves_are_shown_but_not_written(tracking) -> None:
    h: Harness = await tracking()
    h.fake.script(Timeline(queue_positions=(3, 2, 1), queue_seconds=0.6, run_seconds=0.1))
    statements: list[str] = []
    await h.service.store.db.trace(statements.append)
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED)
    await h.service.store.db.trace(None)
    shown = [u.queue_position for u in h.observer.updates if u.status is JobStatus.IN_QUEUE]
    assert {3, 2, 1} <= set(shown)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    # Submit (three writes: its message, the body as sent, queued), rendering, completed,
    # delivered: no write per queue move.
    assert sum("status = 'in_queue'" in s for s in updates) == 1, updates
    assert len(updates) <= 6, updates


async def test_a_restart_spreads_its_polls_and_new_jobs_do_not_wait_behind_them(
    tracking, tmp_path: Path
) -> None:
    quotas = {"quota_user_concurrent": 99, "quota_user_daily": 99, "quota_global_concurrent": 99}
    quotas["job_timeout_seconds"] = 60
    first: Harness = await tracking(rate=None, **quotas)
    first.fake.script(*(Timeline(manual=True) for _ in range(60)))
    for _ in range(60):
        await first.start_job()
    await first.service.close()  # the bot stops; 60 queued jobs stay in the database
    await asyncio.sleep(0)
    # Restart with a budget of 30 requests/s: 60 first polls take ~2 s of budget.
    h: Harness = await tracking(fake=first.fake, rate=30.0, **quotas)
    assert await h.service.resume() == 60
    began = time.monotonic()
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=0.1))
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.DELIVERED, within=10)
    # The new job's submit, polls and result went before the restart's sparse polls.
    assert time.monotonic() - began < 1.5
    restart_polls = [r.at for r in h.fake.requests if r.endpoint == "status" and r.at >= began]
    assert len(restart_polls) >= 1
