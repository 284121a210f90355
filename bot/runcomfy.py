"""RunComfy Model API client and the wire models of its contract.

Shaped like replicate-python: one injected `httpx.AsyncClient` (base URL,
Bearer auth, explicit timeouts), typed models, one exception type. See
shared/docs/runcomfy-api.md for the contract, rough edges included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.config import MAX_RUNCOMFY_CONNECTIONS
from bot.inflight import InFlightSizer, Lateness
from bot.lanes import LaneTransport
from bot.metrics import Metrics, http_outcome
from bot.models import MAX_DURATION, MIN_DURATION, JobOptions, Ratio, Resolution
from bot.ratelimit import RateBudget

log = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "cancelled", "failed"})
KNOWN_STATUSES = frozenset({"in_queue", "in_progress", *TERMINAL})
# /result says `succeeded` where /status says `completed`; some clients see either.
# Past this, a queue position is taken for nonsense rather than shown.
MAX_POSITION = 100_000
_STATUS_ALIASES = {"succeeded": "completed", "success": "completed", "canceled": "cancelled"}
BALANCE_CODES = frozenset({400002})
TOKEN_CODES = frozenset({400004, 401001})
RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class RunComfyError(Exception):
    """Any failure talking to RunComfy. Never carries the token."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.retryable = retryable
        # A submit that may have created (and will bill) a job we know nothing of.
        self.ambiguous = ambiguous
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.error_code is not None:
            parts.append(f"code {self.error_code}")
        return " | ".join(parts)

    @property
    def operator_problem(self) -> bool:
        """Only the operator can fix it: empty balance or a bad token."""
        return (
            self.error_code in BALANCE_CODES
            or self.error_code in TOKEN_CODES
            or self.status_code in (401, 402)
        )

    @property
    def user_message(self) -> str:
        if self.operator_problem:
            return "The video service is unavailable right now. The bot's operator has been told."
        if self.error_code == 422001 or self.status_code == 422:
            return f"The video service refused the request: {self.message}"
        if self.retryable:
            return "The video service is not answering properly right now. Please try again later."
        return "The video service could not take this job."


class SeedanceInput(BaseModel):
    """Exactly the input schema of the model page; nothing outside it is ever sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    first_frame_image_url: str
    resolution: Resolution = "480p"
    ratio: Ratio = "adaptive"
    duration: int = Field(default=5, ge=MIN_DURATION, le=MAX_DURATION)
    generate_audio: bool = True
    camera_fixed: bool = True

    @classmethod
    def from_options(cls, prompt: str, image_url: str, options: JobOptions) -> SeedanceInput:
        return cls(prompt=prompt, first_frame_image_url=image_url, **options.model_dump())


def _normalise_status(value: object) -> str:
    text = str(value or "").strip().lower()
    return _STATUS_ALIASES.get(text, text)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


_WireT = TypeVar("_WireT", bound=_Wire)


class SubmitResponse(_Wire):
    request_id: str
    status_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None


class _Stated(_Wire):
    """An answer carrying the job's state word, as /status and /result both do."""

    request_id: str
    status: str

    _normalise = field_validator("status", mode="before")(_normalise_status)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_known(self) -> bool:
        return self.status in KNOWN_STATUSES


_StatedT = TypeVar("_StatedT", bound=_Stated)


class RequestStatus(_Stated):
    queue_position: int | None = None

    @field_validator("queue_position", mode="before")
    @classmethod
    def _position_or_none(cls, value: object) -> int | None:
        # A position that makes no sense is unknown: failing the whole answer retried
        # it six times, then lost the poll, on every poll of the job.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POSITION:
            return value
        return None


class RequestResult(_Stated):
    output: dict[str, Any] | None = None
    error: str | None = None
    cost: float | None = None
    created_at: str | None = None
    finished_at: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _flatten_error(cls, value: object) -> str | None:
        # Undocumented shape: a string, or an object with a message somewhere.
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict):
            found = _message_of(value)
            return found or json.dumps(value)[:500]
        return str(value)

    @field_validator("cost", mode="before")
    @classmethod
    def _number_or_none(cls, value: object) -> float | None:
        return _money_or_none(value)

    @field_validator("output", mode="before")
    @classmethod
    def _object_or_none(cls, value: object) -> object:
        # Garbage in `output` means "no video", not an unreadable answer worth retrying.
        return value if isinstance(value, dict) else None

    @property
    def video_url(self) -> str | None:
        output = self.output or {}
        for found in (output.get("video"), output.get("videos")):
            first = found[0] if isinstance(found, list) and found else found
            if isinstance(first, str) and first.strip():
                return first.strip()
        return None


class ModelInfo(_Wire):
    """`GET /v1/models/{model_id}`: the hosted model and its price."""

    model_id: str
    base_price_usd: float | None = None
    # `second`: the price is per second of video (times `duration`); `output`: per video.
    price_unit: str | None = None
    pricing_note: str | None = None

    @field_validator("base_price_usd", mode="before")
    @classmethod
    def _number_or_none(cls, value: object) -> float | None:
        return _money_or_none(value)

    def price_for(self, duration: int) -> float | None:
        """What one video of `duration` seconds costs, if the model says; never guessed."""
        if self.base_price_usd is None:
            return None
        if self.price_unit == "second":
            return self.base_price_usd * duration
        if self.price_unit == "output":
            return self.base_price_usd
        return None


def _money_or_none(value: object) -> float | None:
    """An amount in dollars, or None: an infinite cost would fill the spend cap for
    good, a negative one hide spend, so what is not a finite amount >= 0 is unknown."""
    try:
        amount = None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return amount if amount is not None and math.isfinite(amount) and amount >= 0 else None


class CancelResponse(_Wire):
    request_id: str
    status: str | None = None
    outcome: str

    @property
    def cancelled(self) -> bool:
        return self.outcome == "cancelled"


# Failures before a single byte of the request was written: no connection could be
# made, or every pooled connection stayed busy (a slow RunComfy, 1,000 live jobs).
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Connections to RunComfy, each its own lane (bot/lanes.py: httpcore's own pool costs
# more CPU per request the more connections it holds), all kept alive. As many
# requests are in flight as the round trip needs (bot/inflight.py), at least
# BASE_IN_FLIGHT and at most MAX_CONNECTIONS (the RUNCOMFY_CONNECTIONS default).
BASE_IN_FLIGHT = 16
MAX_CONNECTIONS = MAX_RUNCOMFY_CONNECTIONS
UNPACED = 1e9  # requests per second of a client without a budget: never the limit
# Absolute URLs kept parsed: a status and a result URL for each of 2,000 live jobs.
URL_CACHE_SIZE = 4096


def make_http_client(
    base_url: str, token: SecretStr, timeout_seconds: float, *, connections: int = MAX_CONNECTIONS
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
        model_id: str,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        requests_per_second: float | None = None,
        metrics: Metrics | None = None,
        max_in_flight: int = MAX_CONNECTIONS,
    ) -> None:
        self._http = http
        self._metrics = metrics
        self._model_path = "/v1/models/" + quote(model_id, safe="/")
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
        # every queued request on each answer (quadratic at 1,000 jobs); the budget's
        # urgent line then also decides who gets the next free connection.
        self._gate = self._budget or RateBudget(
            UNPACED, burst=max_in_flight, concurrency=max_in_flight
        )
        self._rng = random.Random()
        self._unknown_statuses: set[str] = set()
        self._urls: dict[str, httpx.URL] = {}

    async def submit(self, job_input: SeedanceInput) -> SubmitResponse:
        """Start one job. Never retried once the request may have reached RunComfy."""
        body = job_input.model_dump(mode="json")
        for attempt in range(1, self._max_attempts + 1):
            try:
                # A user waits for the status message behind it: never behind sparse polls.
                response = await self._send("POST", self._model_path, json=body, urgent=True)
            except NEVER_SENT as exc:
                # The request provably never left this machine: safe to try again.
                if attempt == self._max_attempts:
                    _gave_up("POST", self._model_path, attempt, exc)
                    raise RunComfyError("cannot reach RunComfy", retryable=True) from exc
                await self._backoff(attempt, None)
                continue
            except httpx.HTTPError as exc:
                _gave_up("POST", self._model_path, attempt, exc)
                raise RunComfyError(
                    f"submit outcome unknown ({type(exc).__name__})", ambiguous=True
                ) from exc
            try:
                return self._parse(response, SubmitResponse)
            except RunComfyError as exc:
                if response.status_code == 429 and attempt < self._max_attempts:
                    await self._backoff(attempt, exc.retry_after)
                    continue
                # A 5xx or an unreadable 200 may hide a job that was created.
                exc.ambiguous = response.status_code >= 500 or response.status_code == 200
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

    async def model(self) -> ModelInfo:
        """The configured model and its price; RunComfyError 400001 when it is gone."""
        return await self._retrying("GET", self._model_path, ModelInfo)

    async def cancel(self, request_id: str) -> CancelResponse:
        path = f"/v1/requests/{quote(request_id, safe='')}/cancel"
        return await self._retrying("POST", path, CancelResponse, urgent=True)

    # -- plumbing ----------------------------------------------------------

    def _noted(self, answer: _StatedT) -> _StatedT:
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
        request: 190 µs a poll against 35 µs for a parsed URL, about 4% of the bot's
        main thread at 1,000 live jobs. Built by httpx itself, so it is the URL httpx
        would have sent.
        """
        key = path if not params else path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                del self._urls[next(iter(self._urls))]  # the oldest: its job is likely done
            url = self._urls[key] = self._http.build_request("GET", path, params=params).url
        return url

    async def _retrying(
        self, method: str, path: str, model: type[_WireT], *, urgent: bool = False, **kwargs: Any
    ) -> _WireT:
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

    def _parse(self, response: httpx.Response, model: type[_WireT]) -> _WireT:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error_code") is not None:
            # Some RunComfy APIs answer 200 with an error in the body.
            raise _error_from(status, body, response)
        if status >= 400:
            raise _error_from(status, body if isinstance(body, dict) else {}, response)
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


def _message_of(body: dict[str, Any]) -> str | None:
    for key in ("error_message", "message", "error", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            nested = _message_of(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # 422 validation errors: a list of {loc, msg}.
            parts = [
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in value[:3]
            ]
            return "; ".join(parts)
    return None


def _error_from(status: int, body: dict[str, Any], response: httpx.Response) -> RunComfyError:
    code = body.get("error_code")
    try:
        error_code = int(code) if code is not None else None
    except (TypeError, ValueError):
        error_code = None
    message = _message_of(body) or f"RunComfy answered HTTP {status}"
    retryable = status in RETRYABLE_HTTP or error_code == 500001
    if status == 200 and error_code is not None:
        retryable = error_code == 500001 or error_code // 1000 == 500
    if error_code in BALANCE_CODES | TOKEN_CODES or status in (401, 402, 403, 404):
        retryable = False
    return RunComfyError(
        message[:500],
        status_code=status,
        error_code=error_code,
        retryable=retryable,
        retry_after=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    return None
