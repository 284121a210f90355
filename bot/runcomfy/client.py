"""The RunComfy Model API client: one injected httpx client, retries, a request budget.

Shaped like replicate-python: one injected `httpx.AsyncClient` (base URL,
Bearer auth, explicit timeouts), typed models, one exception type. See
shared/docs/runcomfy-api.md for the contract, rough edges included.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from bot.config import DEFAULT_RUNCOMFY_CONNECTIONS
from bot.inflight import InFlightSizer, Lateness
from bot.lanes import LaneTransport
from bot.metrics import Metrics, http_outcome
from bot.ratelimit import RateBudget
from bot.runcomfy.errors import MAX_RETRY_AFTER, RunComfyError, error_from
from bot.runcomfy.wire import (
    CancelResponse,
    ModelInfo,
    RequestResult,
    RequestStatus,
    StatedT,
    SubmitResponse,
    WireT,
)

log = logging.getLogger(__name__)

# Failures before a single byte of the request was written: no connection could be
# made, or every pooled connection stayed busy (a slow RunComfy, 1,000 live jobs).
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Connections to RunComfy, each its own lane (bot/lanes.py), all kept alive. As many
# requests are in flight as the round trip needs (bot/inflight.py), at least
# BASE_IN_FLIGHT and at most DEFAULT_CONNECTIONS (the RUNCOMFY_CONNECTIONS default).
BASE_IN_FLIGHT = 16
DEFAULT_CONNECTIONS = DEFAULT_RUNCOMFY_CONNECTIONS
UNPACED = 1e9  # requests per second of a client without a budget: never the limit
# Absolute URLs kept parsed: a status and a result URL for each of 2,000 live jobs.
URL_CACHE_SIZE = 4096


def make_http_client(
    base_url: str,
    token: SecretStr,
    timeout_seconds: float,
    *,
    connections: int = DEFAULT_CONNECTIONS,
) -> httpx.AsyncClient:
    """The one client for RunComfy: base URL, Bearer auth, explicit timeouts."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {token.get_secret_value()}",
            "User-Agent": "animate-bot/0.1",
        },
        timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
        transport=LaneTransport(connections),
    )


class RunComfyClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        requests_per_second: float | None = None,
        metrics: Metrics | None = None,
        max_in_flight: int = DEFAULT_CONNECTIONS,
    ) -> None:
        self._http = http
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sizer: InFlightSizer | None = None
        self._lateness = Lateness()
        self._budget: RateBudget | None = None
        if requests_per_second:
            # In flight: what the round trip to RunComfy needs to carry the budget.
            self._sizer = InFlightSizer(
                requests_per_second, floor=BASE_IN_FLIGHT, ceiling=max_in_flight
            )
            self._budget = RateBudget(
                requests_per_second,
                burst=max(1, int(requests_per_second)),
                concurrency=self._sizer.limit,
            )
            if metrics is not None:
                metrics.runcomfy_in_flight_limit.set(self._sizer.limit)
        # Requests beyond the connections wait here, not in httpcore's pools, which rescan
        # every queued request on each answer; the budget's urgent line then also
        # decides who gets the next free connection.
        self._gate = self._budget or RateBudget(
            UNPACED, burst=max_in_flight, concurrency=max_in_flight
        )
        self._rng = random.Random()
        self._unknown_statuses: set[str] = set()
        self._urls: dict[str, httpx.URL] = {}

    async def submit(self, model_id: str, body: dict[str, Any]) -> SubmitResponse:
        """Start one job of `model_id` with `body` (the model layer built it). Never
        retried once the request may have reached RunComfy."""
        path = model_path(model_id)
        for attempt in range(1, self._max_attempts + 1):
            try:
                # A user waits for the status message behind it: never behind sparse polls.
                response = await self._send("POST", path, json=body, urgent=True)
            except NEVER_SENT as exc:
                # The request provably never left this machine: safe to try again.
                if attempt == self._max_attempts:
                    _gave_up("POST", path, attempt, exc)
                    raise RunComfyError("cannot reach RunComfy", retryable=True) from exc
                await self._backoff(attempt, None)
                continue
            except httpx.HTTPError as exc:
                _gave_up("POST", path, attempt, exc)
                raise RunComfyError(
                    f"submit outcome unknown ({type(exc).__name__})", ambiguous=True
                ) from exc
            try:
                return self._parse(response, SubmitResponse)
            except RunComfyError as exc:
                if response.status_code == 429 and attempt < self._max_attempts:
                    await self._backoff(attempt, exc.retry_after)
                    continue
                # A 5xx or an unreadable success (any 2xx) may hide a job that was created.
                code = response.status_code
                exc.ambiguous = code >= 500 or 200 <= code < 300
                raise
        raise AssertionError("unreachable")

    async def status(self, request_id: str, *, urgent: bool = False) -> RequestStatus:
        """The job's state; `urgent` when the poll is due now (see RateBudget's lanes)."""
        path = f"/v1/requests/{quote(request_id, safe='')}/status"
        return self._noted(await self._retrying("GET", path, RequestStatus, urgent=urgent))

    async def result(
        self, request_id: str, *, include_cost: bool = True, urgent: bool = True
    ) -> RequestResult:
        """The job's outputs once done; before that, its current state and no outputs.

        Urgent by default: a finished video waits for it.
        """
        path = f"/v1/requests/{quote(request_id, safe='')}/result"
        params = {"include_cost": "true"} if include_cost else None
        return self._noted(
            await self._retrying("GET", path, RequestResult, params=params, urgent=urgent)
        )

    async def model(self, model_id: str) -> ModelInfo:
        """A model: its price and input schema; RunComfyError 400001/404 when it is gone."""
        info = await self._retrying("GET", model_path(model_id), ModelInfo)
        # Its answer may name it otherwise (or not at all): the id asked for is its id.
        return info.model_copy(update={"model_id": model_id})

    async def cancel(self, request_id: str) -> CancelResponse:
        path = f"/v1/requests/{quote(request_id, safe='')}/cancel"
        return await self._retrying("POST", path, CancelResponse, urgent=True)

    # -- plumbing ----------------------------------------------------------

    def _noted(self, answer: StatedT) -> StatedT:
        """Log an unknown state word once per process, not once per poll."""
        if not answer.is_known and answer.status not in self._unknown_statuses:
            self._unknown_statuses.add(answer.status)
            log.warning("RunComfy sent an unknown status %r; treating it as running", answer.status)
        return answer

    @property
    def in_flight_limit(self) -> int:
        """RunComfy requests allowed at once, now (bot/inflight.py)."""
        return self._gate.concurrency or 0

    @property
    def budget(self) -> RateBudget | None:
        """The request budget (None: unpaced); trackers spread a restart over its rate."""
        return self._budget

    async def _send(
        self, method: str, path: str, *, urgent: bool = False, **kwargs: Any
    ) -> httpx.Response:
        await self._gate.acquire(urgent=urgent)
        if self._sizer is not None:
            self._lateness.watch()
        started = time.perf_counter()
        try:
            response = await self._request(method, path, **kwargs)
        finally:
            self._gate.release()
        if self._sizer is not None:
            self._sized(time.perf_counter() - started)
        return response

    def _sized(self, rtt: float) -> None:
        assert self._sizer is not None and self._budget is not None
        limit = self._sizer.observe(rtt, lateness=self._lateness.last)
        if limit is None:
            return
        self._budget.resize(limit)
        if self._metrics is not None:
            self._metrics.runcomfy_in_flight_limit.set(limit)
        log.info(
            "RunComfy answers in %.0f ms at best: up to %d requests in flight",
            (self._sizer.base_rtt or 0) * 1000,
            limit,
        )

    async def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        url = self._url(path, params)
        if self._metrics is None:
            return await self._http.request(method, url, **kwargs)
        endpoint = _endpoint_of(method, path)
        started = time.perf_counter()
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError:
            self._metrics.runcomfy_request(endpoint, "error", time.perf_counter() - started)
            raise
        self._metrics.runcomfy_request(
            endpoint, http_outcome(response.status_code), time.perf_counter() - started
        )
        return response

    def _url(self, path: str, params: dict[str, str] | None) -> httpx.URL:
        """The absolute URL of `path`, built once per job and endpoint.

        httpx merges a relative path with the base URL and parses the result on every
        request, a cost every poll would pay again. Built by httpx itself, so it is the
        URL httpx would have sent.
        """
        key = path if not params else path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                del self._urls[next(iter(self._urls))]  # the oldest: its job is likely done
            url = self._urls[key] = self._http.build_request("GET", path, params=params).url
        return url

    async def _retrying(
        self, method: str, path: str, model: type[WireT], *, urgent: bool = False, **kwargs: Any
    ) -> WireT:
        """Safe calls: retried on network errors, 408/429/5xx and unreadable bodies."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._send(method, path, urgent=urgent, **kwargs)
                return self._parse(response, model)
            except httpx.HTTPError as exc:
                error = RunComfyError(f"network error ({type(exc).__name__})", retryable=True)
                cause: BaseException = exc
            except RunComfyError as exc:
                if not exc.retryable:
                    raise
                error, cause = exc, exc
            if attempt == self._max_attempts:
                _gave_up(method, path, attempt, error)
                raise error from cause
            log.debug("RunComfy %s %s failed (%s); retry %d", method, path, error, attempt)
            await self._backoff(attempt, error.retry_after)
        raise AssertionError("unreachable")

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        # Full jitter (as discord.py's backoff) so retries of many jobs spread out.
        delay = self._rng.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        await asyncio.sleep(delay)

    def _parse(self, response: httpx.Response, model: type[WireT]) -> WireT:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error_code") is not None:
            # Some RunComfy APIs answer 200 with an error in the body.
            raise error_from(status, body, response)
        if status >= 400:
            raise error_from(status, body if isinstance(body, dict) else {}, response)
        if not isinstance(body, dict):
            raise RunComfyError(
                "unreadable answer from RunComfy", status_code=status, retryable=True
            )
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise RunComfyError(
                f"unexpected answer from RunComfy ({exc.error_count()} problems)",
                status_code=status,
                retryable=True,
            ) from None


def model_path(model_id: str) -> str:
    return "/v1/models/" + quote(model_id, safe="/")


def _endpoint_of(method: str, path: str) -> str:
    """The metrics label of a request: which call of the contract it is."""
    if path.startswith("/v1/models/"):
        return "submit" if method == "POST" else "model"
    for endpoint in ("status", "result", "cancel"):
        if path.endswith("/" + endpoint):
            return endpoint
    return "other"


def _gave_up(method: str, path: str, attempts: int, error: BaseException) -> None:
    """One WARNING per failed call (its retries log at DEBUG); never the token."""
    described = type(error).__name__ if isinstance(error, httpx.HTTPError) else str(error)
    log.warning("RunComfy %s %s failed after %d tries: %s", method, path, attempts, described)
