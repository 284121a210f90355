"""When to ask RunComfy again: hazard-aware polling with jitter.

RunComfy has no webhooks, so this policy sets both the delivery lag and the
number of requests a job costs.

`HazardPolicy` (used once a handful of past renders of the job's kind are known)
polls at an interval proportional to 1/sqrt(hazard of completion), the hazard
coming from a smoothed distribution of those renders and the render clock starting at
the first `in_progress` seen. `PollPolicy` (the fallback, and the queue phase)
halves the time left to an ETA: sparse far from it, dense near it, backing off
past it.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

OVERDUE_FRACTION = 4  # past the ETA, wait a quarter of the overrun
# Fewer renders than this of one kind: not a distribution yet, use PollPolicy.
MIN_SAMPLES = 5
# A log-normal fitted to near-identical renders would claim certainty it has not
# earned (and a hazard spike the jitter of RunComfy's own queue would miss).
MIN_SIGMA = 0.08
# Share of the log-normal fit in the mixture: it alone shapes the tail.
TAIL_WEIGHT = 0.1
# Of Silverman's rule-of-thumb bandwidth. His rule suits a bell curve; render times
# are flat-topped or two-humped (warm and cold workers), which it smooths into one
# broad hump, spreading polls where no render ends.
BANDWIDTH_SHARE = 0.5
GRID_POINTS = 128
SCAN_STEPS = 16  # points looked at across one wait of max_delay
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2 * math.pi)


# Of a poll with no deadline (at max_delay): +/- this share. Jobs sent in one burst
# otherwise poll in waves, the bot idle in between, and each wave holds up the polls
# that are due. The mean wait is the same, so is the number of polls.
SPARSE_JITTER = 0.5


@dataclass(frozen=True)
class PollPolicy:
    min_delay: float
    max_delay: float
    jitter: float = 0.1  # +/- fraction, so jobs sent together do not poll in lockstep
    sparse_jitter: float = SPARSE_JITTER

    def next_delay(self, *, now: float, expected_end: float | None, rng: random.Random) -> float:
        """Delay before the next status request.

        Halving the remaining time converges on the expected end in a few
        requests (60 s render: ~5 requests to get there). Once the job is due,
        a quarter of the time it has run over: the lag stays within a quarter
        of the overrun (and `min_delay` near the end), at a few requests.
        """
        if expected_end is None:
            return _jittered(self.max_delay, self.min_delay, self.sparse_jitter, rng)
        if now < expected_end:
            base = (expected_end - now) / 2
        else:
            base = (now - expected_end) / OVERDUE_FRACTION
        base = min(self.max_delay, max(self.min_delay, base))
        return _jittered(base, self.min_delay, self.jitter, rng)


@dataclass(frozen=True)
class RenderTimes:
    """The render-time distribution of one kind (first `in_progress` seen to completion).

    A kernel density of the past renders in log space (it follows their real shape:
    a sharp earliest render, a flat middle; half Silverman's bandwidth) mixed with a
    log-normal fit of them (weight TAIL_WEIGHT) whose slowly falling hazard takes over
    past the longest render seen. The hazard is tabulated once per fit, so a poll costs
    a lookup.
    """

    mu: float  # mean of log(seconds)
    sigma: float  # standard deviation of log(seconds)
    count: int
    bandwidth: float  # of the kernels, in log space (BANDWIDTH_SHARE of Silverman's rule)
    logs: tuple[float, ...] = ()
    _grid: tuple[float, ...] = ()  # log(seconds), evenly spaced
    _hazards: tuple[float, ...] = ()

    @classmethod
    def fit(cls, samples: Sequence[float]) -> RenderTimes | None:
        """The fit of the positive samples; None when there are fewer than MIN_SAMPLES."""
        logs = sorted(math.log(s) for s in samples if s > 0)
        if len(logs) < MIN_SAMPLES:
            return None
        sigma = max(MIN_SIGMA, statistics.pstdev(logs))
        bandwidth = max(MIN_SIGMA / 2, BANDWIDTH_SHARE * 1.06 * sigma * len(logs) ** -0.2)
        raw = cls(statistics.fmean(logs), sigma, len(logs), bandwidth, tuple(logs))
        low, high = logs[0] - 4 * bandwidth, logs[-1] + 3 * sigma
        grid = tuple(low + (high - low) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS))
        hazards = tuple(raw._mixture_hazard(math.exp(x)) for x in grid)
        return cls(raw.mu, sigma, raw.count, bandwidth, raw.logs, grid, hazards)

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    @property
    def first_end(self) -> float:
        """The earliest a render of this kind plausibly ends: the shortest seen, less a kernel."""
        return math.exp(self.logs[0] - self.bandwidth) if self.logs else 0.0

    @property
    def longest(self) -> float:
        """The longest render seen (past it, the distribution is only a guess)."""
        return math.exp(self.logs[-1]) if self.logs else self.median

    def quantile(self, fraction: float) -> float:
        """Seconds by which `fraction` of renders of this kind are done (log-normal fit)."""
        return math.exp(self.mu + self.sigma * statistics.NormalDist().inv_cdf(fraction))

    def hazard(self, elapsed: float) -> float:
        """Chance per second that a render still running after `elapsed` s ends now."""
        if elapsed <= 0:
            return 0.0
        x = math.log(elapsed)
        grid = self._grid
        if not grid or x >= grid[-1]:
            return self._mixture_hazard(elapsed)
        if x <= grid[0]:
            return self._hazards[0]
        step = (grid[-1] - grid[0]) / (len(grid) - 1)
        i = min(len(grid) - 2, int((x - grid[0]) / step))
        share = (x - grid[i]) / step
        return self._hazards[i] + (self._hazards[i + 1] - self._hazards[i]) * share

    def _mixture_hazard(self, elapsed: float) -> float:
        x = math.log(elapsed)
        density = survival = 0.0
        for center in self.logs:
            d, s = _normal(x, center, self.bandwidth)
            density += d
            survival += s
        d, s = _normal(x, self.mu, self.sigma)
        weight = (1 - TAIL_WEIGHT) / len(self.logs) if self.logs else 0.0
        density = density * weight + d * TAIL_WEIGHT
        survival = survival * weight + s * TAIL_WEIGHT
        if survival < 1e-12:
            # Far in the tail the log-normal hazard tends to z / (sigma * t).
            return max(0.0, (x - self.mu) / self.sigma) / (self.sigma * elapsed)
        return density / (survival * elapsed)  # density in log space, per second


def _normal(x: float, mean: float, sd: float) -> tuple[float, float]:
    """Normal density at x and the chance of exceeding it."""
    z = (x - mean) / sd
    return math.exp(-0.5 * z * z) / (sd * _SQRT_2PI), 0.5 * math.erfc(z / _SQRT2)


@dataclass(frozen=True)
class HazardPolicy:
    """Poll a rendering job at an interval of sqrt(2 c / h(t)).

    Reasoning: let h(t) be the hazard of completion after `t` seconds of
    rendering (the chance per second that a job still running ends now). Polling
    every Δ seconds, the job ends within the next Δ with probability ≈ h·Δ and the
    user then waits Δ/2 on average, so the lag accrues at h·Δ/2 per second,
    while polls cost c/Δ per second (`poll_cost` c: how many seconds of lag
    one request is worth). The sum is smallest at

        Δ(t) = sqrt(2 c / h(t)),

    i.e. the interval is proportional to 1/sqrt(hazard): sparse while the job
    cannot plausibly be done (h ≈ 0: `max_delay`), dense where renders of its kind
    usually end. Past the longest render seen the distribution is only a guess,
    so there the wait is also at least a quarter of the overrun (as in
    PollPolicy): a job stuck at RunComfy costs a few polls a minute, not one every
    `min_delay`. A wait never spans a moment whose own ideal interval is shorter than
    the time already waited by then, so a sparse wait cannot jump over the point where
    renders start to end. Before `first_end` (no render of the kind has ended that
    early) a poll could only tell of a failure: the wait runs on to it, by at most
    `max_delay` more (a poll fewer per job). The result is clamped to [min_delay,
    max_delay], or to twice max_delay in that stretch, and jittered by ±`jitter` so
    jobs submitted together do not poll in lockstep.
    """

    min_delay: float
    max_delay: float
    poll_cost: float
    jitter: float = 0.1

    def next_delay(
        self,
        *,
        elapsed: float,
        times: RenderTimes,
        rng: random.Random,
        elapsed_at_most: float | None = None,
    ) -> float:
        """Delay before the next poll of a job that has rendered for `elapsed` s.

        `elapsed_at_most`: how long it may have rendered, the start being known only
        between two polls; the stretch before `first_end` is measured from it.
        """
        surely = max(elapsed, elapsed_at_most if elapsed_at_most is not None else elapsed)
        quiet = min(self.max_delay, max(0.0, times.first_end - surely))
        longest = quiet + self.max_delay
        delay = longest
        for step in range(SCAN_STEPS + 1):
            ahead = quiet + self.max_delay * step / SCAN_STEPS
            if ahead >= delay:
                break
            hazard = times.hazard(elapsed + ahead)
            ideal = math.sqrt(2 * self.poll_cost / hazard) if hazard > 0 else math.inf
            delay = min(delay, max(ahead, ideal))
        overrun = elapsed - times.longest
        if overrun > 0:
            delay = max(delay, overrun / OVERDUE_FRACTION)
        delay = min(longest, max(self.min_delay, delay))
        return _jittered(delay, self.min_delay, self.jitter, rng)


def _jittered(base: float, floor: float, jitter: float, rng: random.Random) -> float:
    spread = base * jitter
    return max(floor * (1 - jitter), base + rng.uniform(-spread, spread))


def expected_render_seconds(past: Sequence[float], default: float) -> float:
    """Median of past renders of the same kind; the default when there are too few."""
    usable = [d for d in past if d > 0]
    if len(usable) < 3:
        return default
    return statistics.median(usable)
