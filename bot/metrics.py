"""Prometheus metrics: one `Metrics` object, built by the composition root and injected.

Discord-free. Every metric lives on the object's own registry (not the library's
global one), so a test reads the values of the bot it started and two bots in one
process never share counters. Served with prometheus-client's own HTTP server (a
thread) when `METRICS_PORT` is set; docs/metrics.md describes each metric.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

log = logging.getLogger(__name__)

PREFIX = "animate"
# States a job is counted in while it is not final (final ones are counted as ended).
ACTIVE_STATES = ("submitting", "in_queue", "in_progress", "completed")
DeliveryKind = Literal["upload", "link", "dm", "none"]
RunComfyEndpoint = Literal["submit", "status", "result", "cancel", "model", "other"]
# RunComfy answers in tens of milliseconds to seconds; a submit can take longer.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Lag of a 1 s sleep past its due time: a healthy loop stays under a few ms.
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
SAMPLE_EVERY_SECONDS = 1.0


def http_outcome(status: int) -> str:
    """A label with few values: 429 apart (it means "slow down"), else the class."""
    if status == 429:
        return "429"
    return f"{status // 100}xx"


class Metrics:
    """Every metric of the bot, on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge(
            f"{PREFIX}_jobs",
            "Jobs not final, by state (sampled every second).",
            ["state"],
            registry=r,
        )
        self.jobs_ended = Counter(
            f"{PREFIX}_jobs_ended",
            "Jobs that reached a final state, by outcome and model.",
            ["outcome", "model"],
            registry=r,
        )
        self.runcomfy_requests = Counter(
            f"{PREFIX}_runcomfy_requests",
            "HTTP requests to RunComfy, by endpoint and outcome (2xx, 4xx, 429, 5xx, error).",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.runcomfy_latency = Histogram(
            f"{PREFIX}_runcomfy_request_seconds",
            "Time of one HTTP request to RunComfy (not the wait for the request budget).",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.discord_requests = Counter(
            f"{PREFIX}_discord_requests",
            "REST requests to Discord: route is bot_token (counted by Discord's global limit) "
            "or interaction (interaction callbacks and webhooks, exempt).",
            ["route", "outcome"],
            registry=r,
        )
        self.discord_rate_limited = Counter(
            f"{PREFIX}_discord_rate_limited",
            "Discord answers 429, by X-RateLimit-Scope (user, global, shared).",
            ["scope"],
            registry=r,
        )
        self.deliveries = Counter(
            f"{PREFIX}_deliveries",
            "Jobs delivered, by kind: upload, link, dm, or none (no place reached: /history).",
            ["kind"],
            registry=r,
        )
        self.spend = Counter(
            f"{PREFIX}_spend_dollars",
            "What RunComfy charged, in US dollars: every ended job's reported cost.",
            ["model"],
            registry=r,
        )
        self.jobs_without_cost = Counter(
            f"{PREFIX}_jobs_without_cost",
            "Jobs delivered whose cost RunComfy did not report (not in the spend counter).",
            ["model"],
            registry=r,
        )
        self.runcomfy_in_flight_limit = Gauge(
            f"{PREFIX}_runcomfy_in_flight_limit",
            "RunComfy requests allowed in flight at once (bot/inflight.py).",
            registry=r,
        )
        self.live_trackers = Gauge(
            f"{PREFIX}_live_trackers", "Jobs being polled right now (one task each).", registry=r
        )
        self.loop_lag = Histogram(
            f"{PREFIX}_event_loop_lag_seconds",
            "How late a 1 s sleep on the event loop wakes up.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- what the services report -------------------------------------------

    def job_ended(self, outcome: str, model: str, *, cost: float | None = None) -> None:
        """A job's end; `cost`: what RunComfy reported for a job that was not delivered
        (a render past the hard cap, a failed one), counted in the spend."""
        self.jobs_ended.labels(outcome=outcome, model=model).inc()
        if cost is not None and cost > 0:
            self.spend.labels(model=model).inc(cost)

    def delivered(self, kind: DeliveryKind, cost: float | None, model: str) -> None:
        self.deliveries.labels(kind=kind).inc()
        if cost is None:
            self.jobs_without_cost.labels(model=model).inc()
        elif cost > 0:
            self.spend.labels(model=model).inc(cost)

    def runcomfy_request(self, endpoint: str, outcome: str, seconds: float) -> None:
        self.runcomfy_requests.labels(endpoint=endpoint, outcome=outcome).inc()
        self.runcomfy_latency.labels(endpoint=endpoint).observe(seconds)

    def discord_request(self, route: str, status: int | None, scope: str | None = None) -> None:
        outcome = "error" if status is None else http_outcome(status)
        self.discord_requests.labels(route=route, outcome=outcome).inc()
        if status == 429:
            self.discord_rate_limited.labels(scope=scope or "unknown").inc()

    def set_jobs_by_state(self, counts: Mapping[str, int]) -> None:
        for state in ACTIVE_STATES:
            self.jobs.labels(state=state).set(counts.get(state, 0))

    # -- reading (tests, the closing note) -----------------------------------

    def value(self, name: str, **labels: str) -> float:
        """The current value of one sample (0 if it was never set)."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    # -- serving ---------------------------------------------------------------

    def serve(self, host: str, port: int) -> bool:
        """Serve /metrics from a thread: a scrape never waits for the event loop.

        A port already taken is logged, not fatal: the bot (and what it earns the
        operator's users) matters more than its numbers, and Prometheus shows the
        target as down.
        """
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("Cannot serve metrics on %s:%d (%s); check METRICS_PORT", host, port, exc)
            return False
        log.info("Serving Prometheus metrics on http://%s:%d/metrics", host, port)
        return True

    def stop_serving(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


async def sample_forever(
    metrics: Metrics,
    *,
    jobs_by_state: Callable[[], Awaitable[Mapping[str, int]]],
    live_trackers: Callable[[], int],
    every: float = SAMPLE_EVERY_SECONDS,
) -> None:
    """Measure the event loop's lag and sample the gauges, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        metrics.loop_lag.observe(max(0.0, loop.time() - due))
        metrics.live_trackers.set(live_trackers())
        try:
            metrics.set_jobs_by_state(await jobs_by_state())
        except Exception:
            # A locked or closing database must not end the sampling.
            log.warning("Could not sample jobs by state", exc_info=True)
