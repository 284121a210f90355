"""When to ask RunComfy again: hazard-aware polling with jitter.

RunComfy has no webhooks, so this policy sets both the delivery lag and the
number of requests a job costs.

`HazardPolicy` (used once a handful of past renders of the job's kind are known)
polls at an interval proportional to 1/sqrt(hazard of completion), the hazard
coming from a log-normal fit of those renders and the render clock starting at
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
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class PollPolicy:
    min_delay: float
    max_delay: float
    jitter: float = 0.1  # +/- fraction, so 1,000 jobs do not poll in lockstep

    def next_delay(self, *, now: float, expected_end: float | None, rng: random.Random) -> float:
        """Delay before the next status request.

        Halving the remaining time converges on the expected end in a few
        requests (60 s render: ~5 requests to get there). Once the job is due,
        a quarter of the time it has run over: the lag stays within a quarter
        of the overrun (and `min_delay` near the end), at a few requests.
        """
        if expected_end is None:
            base = self.max_delay
        elif now < expected_end:
            base = (expected_end - now) / 2
        else:
            base = (now - expected_end) / OVERDUE_FRACTION
        base = min(self.max_delay, max(self.min_delay, base))
        return _jittered(base, self.min_delay, self.jitter, rng)


@dataclass(frozen=True)
class RenderTimes:
    """Log-normal fit of past render times (first `in_progress` seen to completion)."""

    mu: float  # mean of log(seconds)
    sigma: float  # standard deviation of log(seconds)
    count: int

    @classmethod
    def fit(cls, samples: Sequence[float]) -> RenderTimes | None:
        """The fit of the positive samples; None when there are fewer than MIN_SAMPLES."""
        logs = [math.log(s) for s in samples if s > 0]
        if len(logs) < MIN_SAMPLES:
            return None
        sigma = max(MIN_SIGMA, statistics.pstdev(logs))
        return cls(mu=statistics.fmean(logs), sigma=sigma, count=len(logs))

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    def quantile(self, fraction: float) -> float:
        """Seconds by which `fraction` of renders of this kind are done."""
        return math.exp(self.mu + self.sigma * statistics.NormalDist().inv_cdf(fraction))

    def hazard(self, elapsed: float) -> float:
        """Chance per second that a render still running after `elapsed` s ends now."""
        if elapsed <= 0:
            return 0.0
        z = (math.log(elapsed) - self.mu) / self.sigma
        survival = 0.5 * math.erfc(z / _SQRT2)
        density = math.exp(-0.5 * z * z) / (elapsed * self.sigma * math.sqrt(2 * math.pi))
        if survival < 1e-12:
            # Far in the tail the log-normal hazard tends to z / (sigma * t).
            return max(z, 0.0) / (self.sigma * elapsed)
        return density / survival


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
    usually end, and, since a log-normal's hazard falls again in its tail, backing
    off by itself for a job that overruns every past one. Δ uses the larger hazard
    of now and of the end of the wait, so a wait never jumps over the point where
    renders start to end. The result is clamped to [min_delay, max_delay] and
    jittered by ±`jitter` so jobs submitted together do not poll in lockstep.
    """

    min_delay: float
    max_delay: float
    poll_cost: float
    jitter: float = 0.1

    def next_delay(self, *, elapsed: float, times: RenderTimes, rng: random.Random) -> float:
        """Delay before the next poll of a job that has rendered for `elapsed` s."""
        delay = self.max_delay
        for _ in range(4):  # a few fixed-point steps converge for any smooth hazard
            hazard = max(times.hazard(elapsed), times.hazard(elapsed + delay))
            ideal = math.sqrt(2 * self.poll_cost / hazard) if hazard > 0 else math.inf
            delay = min(self.max_delay, max(self.min_delay, ideal))
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
