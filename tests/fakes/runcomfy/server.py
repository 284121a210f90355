"""The fake RunComfy's server: its routes, the control surface tests script it with, and
the record of every request."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.runcomfy.faults import Fault, api_error, apply_fault
from tests.fakes.runcomfy.jobs import (
    FakeJob,
    HostedModel,
    Timeline,
    seedance_bill,
    validate_input,
    video_chunks,
)
from tests.fakes.runcomfy.records import Endpoint, Recorded, endpoint_of
from tests.fakes.schemas import SEEDANCE_15, seedance_15

BODY = web.RequestKey("body", object)


class FakeRunComfy:
    def __init__(
        self,
        *,
        token: str = "fake-runcomfy-token",
        model_id: str = SEEDANCE_15,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
    ) -> None:
        self.token = token
        # The models hosted, each with its own schema; the first is `model_id`'s.
        self.models: dict[str, HostedModel] = {model_id: HostedModel(seedance_15())}
        self.model_id = model_id
        self.time_scale = time_scale
        self.jobs: dict[str, FakeJob] = {}
        self.requests: list[Recorded] = []
        self.default_timeline = Timeline()
        # Seconds every API answer waits (real time, not scaled): a RunComfy far away.
        self.latency = 0.0
        self.in_flight = 0  # requests being answered now, and the most at once
        self.peak_in_flight = 0
        self._host, self._port = host, port
        self._scripted: deque[Timeline] = deque()
        self._faults: dict[str, deque[Fault]] = {}
        self._chaos: tuple[float, list[str], random.Random] | None = None
        self._runner: web.AppRunner | None = None
        # `GET /r/{name}` answers 302 to `redirects[name]`: redirects a CDN might send.
        self.redirects: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.base_url = ""

    # -- life cycle --------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._record])
        app.add_routes(
            [
                web.post("/v1/models/{model_id:.+}", self._submit),
                web.get("/v1/models/{model_id:.+}", self._model),
                web.get("/v1/requests/{rid}/status", self._status),
                web.get("/v1/requests/{rid}/result", self._result),
                web.post("/v1/requests/{rid}/cancel", self._cancel),
                web.get("/videos/{rid}.mp4", self._video),
                web.get("/r/{name}", self._redirect),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeRunComfy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- control surface ---------------------------------------------------

    def host(self, model_id: str, input_schema: dict[str, Any], **facts: Any) -> HostedModel:
        """Host another model (or replace one's schema), e.g. `host(SEEDANCE_25, seedance_25())`."""
        hosted = self.models[model_id] = HostedModel(input_schema, **facts)
        return hosted

    # The first model's facts, as one-model tests set them.
    @property
    def base_price_usd(self) -> float | None:
        return self.models[self.model_id].base_price_usd

    @base_price_usd.setter
    def base_price_usd(self, value: float | None) -> None:
        self.models[self.model_id].base_price_usd = value

    @property
    def price_unit(self) -> str | None:
        return self.models[self.model_id].price_unit

    @price_unit.setter
    def price_unit(self, value: str | None) -> None:
        self.models[self.model_id].price_unit = value

    @property
    def model_retired(self) -> bool:
        return self.models[self.model_id].retired

    @model_retired.setter
    def model_retired(self, value: bool) -> None:
        self.models[self.model_id].retired = value

    def script(self, *timelines: Timeline) -> None:
        """Timelines for the next submits, in order; then `default_timeline`."""
        self._scripted.extend(timelines)

    def set_state(self, request_id: str, state: str, *, queue_position: int | None = None) -> None:
        job = self.jobs[request_id]
        job.forced, job.forced_position = state, queue_position
        if state in ("completed", "failed", "cancelled"):
            job.finished_at = time.time()

    def inject(
        self,
        endpoint: Endpoint,
        fault: str,
        *,
        times: int = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        payload: Any = None,
    ) -> None:
        """The next `times` calls of `endpoint` fail with `fault`; "answer" answers 200 with
        `payload` as JSON (an upstream that says nonsense), "html" a 200 HTML page."""
        self._faults.setdefault(endpoint, deque()).append(
            Fault(fault, times, retry_after, delay, payload)
        )

    def chaos(self, rate: float, faults: list[str], *, seed: int = 0) -> None:
        """Fail `rate` of status/result/cancel calls with one of `faults`, at random."""
        self._chaos = (rate, faults, random.Random(seed))

    def reset(self) -> None:
        self.jobs.clear()
        self.requests.clear()
        self._scripted.clear()
        self._faults.clear()
        self._chaos = None

    @property
    def submits(self) -> list[Any]:
        return [r.json for r in self.requests if r.endpoint == "submit"]

    def count(self, endpoint: str) -> int:
        return sum(1 for r in self.requests if r.endpoint == endpoint)

    def video_url(self, request_id: str) -> str:
        return f"{self.base_url}/videos/{request_id}.mp4"

    @staticmethod
    def video_bytes(request_id: str, size: int) -> bytes:
        """The deterministic content of a job's video (what tests compare against)."""
        return b"".join(video_chunks(request_id, size))

    # -- handlers ----------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        endpoint = endpoint_of(request)
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                endpoint,
                dict(request.query),
                body,
                dict(request.headers),
                peer=request.transport.get_extra_info("peername") if request.transport else None,
            )
        )
        request[BODY] = body
        if endpoint != "video" and request.headers.get("Authorization") != f"Bearer {self.token}":
            return api_error(401, 400004, "Invalid or expired API token")
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency and endpoint != "video":
                await asyncio.sleep(self.latency)
            fault = self._take_fault(endpoint)
            if fault is not None:
                answer = await apply_fault(fault, request, handler)
                if answer is not None:
                    return answer
            return await handler(request)
        finally:
            self.in_flight -= 1

    def _hosted(self, request: web.Request) -> HostedModel | None:
        hosted = self.models.get(request.match_info["model_id"])
        return None if hosted is None or hosted.retired else hosted

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        hosted = self._hosted(request)
        if hosted is None:
            return api_error(400, 400001, "Invalid model id")
        body = request[BODY]
        problems = validate_input(body, hosted.input_schema)
        if problems:
            return web.json_response(
                {"error_code": 422001, "error_message": "Validation error", "detail": problems},
                status=422,
            )
        job = self._create(body, hosted)
        return web.json_response(self._links(job.request_id))

    async def _model(self, request: web.Request) -> web.StreamResponse:
        hosted = self._hosted(request)
        if hosted is None:
            return api_error(404, 400001, "Invalid model id")
        answer = {
            "model_id": request.match_info["model_id"],
            "base_price_usd": hosted.base_price_usd,
            "price_unit": hosted.price_unit,
            "pricing_note": "Price per second of output video.",
            "input_schema": hosted.input_schema,
        }
        if hosted.display_name is not None:
            answer["display_name"] = hosted.display_name
        answer.update(hosted.answer_fields or {})
        return web.json_response(answer)

    def _create(self, body: dict[str, Any], hosted: HostedModel) -> FakeJob:
        rid = f"req-{next(self._ids):05d}-{uuid.uuid4().hex[:8]}"
        timeline = self._scripted.popleft() if self._scripted else self.default_timeline
        job = FakeJob(rid, body, timeline, time.monotonic(), bill=seedance_bill(body, hosted))
        self.jobs[rid] = job
        return job

    def _links(self, rid: str) -> dict[str, str]:
        base = f"{self.base_url}/v1/requests/{rid}"
        return {
            "request_id": rid,
            "status_url": f"{base}/status",
            "result_url": f"{base}/result",
            "cancel_url": f"{base}/cancel",
        }

    def _job(self, request: web.Request) -> FakeJob | None:
        return self.jobs.get(request.match_info["rid"])

    async def _status(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None:
            return api_error(404, 404001, "Request not found or expired")
        state, position = job.state(time.monotonic(), self.time_scale)
        payload: dict[str, Any] = {**self._links(job.request_id), "status": state}
        if state == "in_queue":
            payload["queue_position"] = position
        payload.update(job.timeline.answer_fields or {})
        return web.json_response(payload)

    async def _result(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None:
            return api_error(404, 404001, "Request not found or expired")
        state, _ = job.state(time.monotonic(), self.time_scale)
        t = job.timeline
        payload: dict[str, Any] = {
            "request_id": job.request_id,
            "status": state,
            "created_at": "2026-11-25T00:00:00Z",
        }
        # Not done yet: the current state and no outputs, as the contract says.
        if state == "completed" and job.empty_results < t.result_empty_answers:
            job.empty_results += 1
            payload["status"] = t.result_status_word
        elif state == "completed":
            url = self.video_url(job.request_id)
            payload["status"] = t.result_status_word
            payload["output"] = {"videos": [url]} if t.videos_list else {"video": url}
            if t.result_output is not None:
                payload["output"] = t.result_output
            payload["finished_at"] = "2026-11-25T00:01:00Z"
            if request.query.get("include_cost") == "true" and job.cost is not None:
                payload["cost"] = job.cost
        elif state == "in_progress" and t.cost_while_running:
            if request.query.get("include_cost") == "true" and job.cost is not None:
                payload["cost"] = job.cost
        elif state == "failed":
            payload["error"] = t.error if t.error is not None else "generation failed"
            payload["finished_at"] = "2026-11-25T00:01:00Z"
            # Whether RunComfy bills a failed render is not documented: a timeline may say
            # what it reports then (a figure); by default it reports no cost.
            failed_cost = t.cost if isinstance(t.cost, float | int) else None
            if request.query.get("include_cost") == "true" and failed_cost is not None:
                payload["cost"] = failed_cost
        payload.update(t.answer_fields or {})
        return web.json_response(payload)

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None:
            return api_error(404, 404001, "Request not found or expired")
        state, _ = job.state(time.monotonic(), self.time_scale)
        if state == "in_queue":
            job.forced, job.forced_position = "cancelled", None
            outcome, state = "cancelled", "cancelled"
        else:
            outcome = "not_cancellable"
        return web.json_response(
            {"request_id": job.request_id, "status": state, "outcome": outcome}, status=202
        )

    async def _video(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None:
            return web.Response(status=404)
        t = job.timeline
        if t.video_status != 200:
            return web.Response(status=t.video_status, text="gone")
        if t.media is not None:
            return web.Response(body=t.media, content_type="video/mp4")
        response = web.StreamResponse(
            headers={"Content-Type": "video/mp4", "Content-Length": str(t.video_size)}
        )
        await response.prepare(request)
        # Streamed in chunks: a 90 MB video never sits in the fake's memory.
        for chunk in video_chunks(job.request_id, t.video_size):
            if t.video_trickle_seconds <= 0:
                await response.write(chunk)
                continue
            # A CDN that trickles: every read gets bytes in time, the whole never ends.
            for start in range(0, len(chunk), 1024):
                await response.write(chunk[start : start + 1024])
                await asyncio.sleep(t.video_trickle_seconds)
        await response.write_eof()
        return response

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        target = self.redirects.get(request.match_info["name"])
        if target is None:
            return web.Response(status=404)
        return web.Response(status=302, headers={"Location": target})

    # -- faults ------------------------------------------------------------

    def _take_fault(self, endpoint: str) -> Fault | None:
        queue = self._faults.get(endpoint)
        if queue:
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault
        if self._chaos is not None and endpoint in ("status", "result", "cancel"):
            rate, kinds, rng = self._chaos
            if rng.random() < rate:
                return Fault(rng.choice(kinds), 1, 0.05, 0.0)
        return None
