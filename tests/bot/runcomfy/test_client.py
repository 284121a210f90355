"""The real RunComfy client (real httpx) against the loopback fake."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.downloads import DownloadError, DownloadProblem, cdn_client, download_to_file
from bot.runcomfy import ModelInfo, RequestResult, RunComfyClient, RunComfyError, make_http_client
from bot.runcomfy import client as runcomfy
from bot.runcomfy.client import MAX_CONNECTIONS
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, seedance_15
from tests.models import options, seedance

TOKEN = "rc-secret-token-DO-NOT-LOG-4242"
MODEL = SEEDANCE_15
INPUT = seedance().body(
    "a cat yawns", "https://cdn.example/cat.png", options(resolution="720p", duration=6)
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunComfy]:
    async with FakeRunComfy(token=TOKEN) as server:
        yield server


@pytest.fixture
async def http(fake: FakeRunComfy) -> AsyncIterator[httpx.AsyncClient]:
    async with make_http_client(fake.base_url, SecretStr(TOKEN), 1.0) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> RunComfyClient:
    return RunComfyClient(
        http,
        max_attempts=4,
        backoff_base=0.005,
        backoff_cap=0.02,
    )


async def test_submit_sends_exactly_the_schema_with_bearer_auth(
    fake: FakeRunComfy, client: RunComfyClient
) -> None:
    submitted = await client.submit(MODEL, INPUT)
    assert submitted.request_id in fake.jobs
    assert submitted.status_url and submitted.result_url and submitted.cancel_url
    (request,) = fake.requests
    assert request.path == "/v1/models/bytedance/seedance-v1.5-pro/image-to-video"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json == {
        "prompt": "a cat yawns",
        "first_frame_image_url": "https://cdn.example/cat.png",
        "resolution": "720p",
        "ratio": "adaptive",
        "duration": 6,
        "generate_audio": True,
        "camera_fixed": True,
    }


async def test_every_status_is_read(fake: FakeRunComfy, client: RunComfyClient) -> None:
    fake.script(Timeline(manual=True, queue_positions=(3,)))
    rid = (await client.submit(MODEL, INPUT)).request_id
    status = await client.status(rid)
    assert (status.status, status.queue_position, status.is_terminal) == ("in_queue", 3, False)
    fake.set_state(rid, "in_queue", queue_position=1)
    assert (await client.status(rid)).queue_position == 1
    for wire, expected, terminal in [
        ("in_progress", "in_progress", False),
        ("completed", "completed", True),
        ("succeeded", "completed", True),
        ("failed", "failed", True),
        ("cancelled", "cancelled", True),
    ]:
        fake.set_state(rid, wire)
        status = await client.status(rid)
        assert (status.status, status.is_terminal) == (expected, terminal)


@pytest.mark.parametrize("position", [-3, "soon", 1.5, 10**12, True])
async def test_a_queue_position_that_makes_no_sense_is_unknown_not_a_failed_poll(
    fake: FakeRunComfy, client: RunComfyClient, position: object
) -> None:
    # It used to fail the whole answer: six tries, then a poll lost, on every poll.
    fake.script(Timeline(manual=True))
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.set_state(rid, "in_queue", queue_position=position)  # type: ignore[arg-type]
    status = await client.status(rid)
    assert (status.status, status.queue_position) == ("in_queue", None)
    assert fake.count("status") == 1


@pytest.mark.parametrize(
    "money", [-0.12, "inf", "nan", 1e309, "-1e309", "twelve cents", 1e9, 1e300, True]
)
def test_money_that_is_not_a_real_amount_is_unknown(money: object) -> None:
    # An infinite cost would fill the spend cap for good; a negative one would hide spend.
    result = RequestResult.model_validate({"request_id": "r", "status": "completed", "cost": money})
    model = ModelInfo.model_validate({"model_id": "m", "base_price_usd": money})
    assert result.cost is None and model.base_price_usd is None


def test_money_as_a_number_or_its_text_is_read() -> None:
    result = RequestResult.model_validate(
        {"request_id": "r", "status": "completed", "cost": "0.12"}
    )
    assert result.cost == 0.12
    assert ModelInfo.model_validate({"model_id": "m", "base_price_usd": 0}).base_price_usd == 0
    negative_zero = RequestResult.model_validate({"request_id": "r", "status": "x", "cost": -0.0})
    assert str(negative_zero.cost) == "0.0"


async def test_unknown_status_is_running_and_logged_once(
    fake: FakeRunComfy, client: RunComfyClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script(Timeline(manual=True))
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.set_state(rid, "warming_up")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            status = await client.status(rid)
            assert not status.is_terminal and not status.is_known
    assert sum("warming_up" in r.getMessage() for r in caplog.records) == 1


async def test_timeline_moves_through_queue_and_run(
    fake: FakeRunComfy, client: RunComfyClient
) -> None:
    fake.script(Timeline(queue_positions=(2, 1), queue_seconds=0.1, run_seconds=0.1))
    rid = (await client.submit(MODEL, INPUT)).request_id
    seen: list[str] = []
    for _ in range(100):
        status = await client.status(rid)
        if not seen or seen[-1] != status.status:
            seen.append(status.status)
        if status.is_terminal:
            break
        await asyncio.sleep(0.02)
    assert seen == ["in_queue", "in_progress", "completed"]


@pytest.mark.parametrize("videos_list", [False, True])
async def test_result_shapes_and_cost(
    fake: FakeRunComfy, client: RunComfyClient, videos_list: bool
) -> None:
    fake.script(Timeline(manual=True, videos_list=videos_list, cost=0.24))
    rid = (await client.submit(MODEL, INPUT)).request_id
    early = await client.result(rid)
    assert early.status == "in_queue" and early.video_url is None
    fake.set_state(rid, "completed")
    result = await client.result(rid)
    assert result.status == "completed"  # the fake says "succeeded"
    assert result.video_url == fake.video_url(rid)
    assert result.cost == pytest.approx(0.24)
    assert (await client.result(rid, include_cost=False)).cost is None


async def test_each_poll_goes_to_its_own_job_past_the_parsed_url_cache(
    fake: FakeRunComfy, client: RunComfyClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # URLs are parsed once per job and endpoint (runcomfy.URL_CACHE_SIZE); older ones go.
    monkeypatch.setattr(runcomfy, "URL_CACHE_SIZE", 3)
    fake.script(*(Timeline(manual=True) for _ in range(5)))
    rids = [(await client.submit(MODEL, INPUT)).request_id for _ in range(5)]
    for rid in rids + rids[::-1]:
        await client.status(rid)
        await client.result(rid)
    asked = [(r.path, r.query.get("include_cost")) for r in fake.requests if r.method == "GET"]
    expected = [
        (f"/v1/requests/{rid}/{endpoint}", cost)
        for rid in rids + rids[::-1]
        for endpoint, cost in (("status", None), ("result", "true"))
    ]
    assert asked == expected
    assert len(client._urls) == 3


@pytest.mark.parametrize(
    ("error", "expected"),
    [("NSFW input", "NSFW input"), ({"code": "E1", "message": "bad frame"}, "bad frame")],
)
async def test_failed_result_carries_a_readable_error(
    fake: FakeRunComfy, client: RunComfyClient, error: object, expected: str
) -> None:
    fake.script(Timeline(manual=True, outcome="failed", error=error))  # type: ignore[arg-type]
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.set_state(rid, "failed")
    result = await client.result(rid)
    assert result.status == "failed" and result.error == expected


async def test_cancel_outcomes(fake: FakeRunComfy, client: RunComfyClient) -> None:
    fake.script(Timeline(manual=True), Timeline(manual=True))
    queued = (await client.submit(MODEL, INPUT)).request_id
    running = (await client.submit(MODEL, INPUT)).request_id
    fake.set_state(running, "in_progress")
    assert (await client.cancel(queued)).cancelled
    assert (await client.status(queued)).status == "cancelled"
    refused = await client.cancel(running)
    assert refused.outcome == "not_cancellable" and not refused.cancelled
    assert (await client.status(running)).status == "in_progress"


@pytest.mark.parametrize("fault", ["500", "502", "503", "malformed", "error_200", "reset"])
async def test_safe_calls_retry_through_faults(
    fake: FakeRunComfy, client: RunComfyClient, fault: str
) -> None:
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.inject("status", fault, times=2)
    status = await client.status(rid)
    assert status.request_id == rid
    assert fake.count("status") == 3


async def test_429_honours_retry_after(fake: FakeRunComfy, client: RunComfyClient) -> None:
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.inject("result", "429", retry_after=0.2)
    await client.result(rid)
    first, second = [r for r in fake.requests if r.endpoint == "result"]
    assert second.at - first.at >= 0.19


async def test_slow_answer_times_out_and_is_retried(
    fake: FakeRunComfy, client: RunComfyClient
) -> None:
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.inject("status", "slow", delay=1.5)
    assert (await client.status(rid)).request_id == rid
    assert fake.count("status") == 2


async def test_exhausted_retries_raise_a_retryable_error(
    fake: FakeRunComfy, client: RunComfyClient
) -> None:
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.inject("status", "503", times=10)
    with pytest.raises(RunComfyError) as caught:
        await client.status(rid)
    assert caught.value.retryable and caught.value.status_code == 503
    assert fake.count("status") == 4


async def test_unknown_request_is_not_retried(fake: FakeRunComfy, client: RunComfyClient) -> None:
    with pytest.raises(RunComfyError) as caught:
        await client.status("nope")
    assert (caught.value.error_code, caught.value.retryable) == (404001, False)
    assert fake.count("status") == 1


@pytest.mark.parametrize(("fault", "code"), [("balance", 400002), ("token", 400004)])
async def test_operator_problems(
    fake: FakeRunComfy, client: RunComfyClient, fault: str, code: int
) -> None:
    fake.inject("submit", fault)
    with pytest.raises(RunComfyError) as caught:
        await client.submit(MODEL, INPUT)
    error = caught.value
    assert error.error_code == code and error.operator_problem and not error.retryable
    assert "unavailable" in error.user_message
    assert "token" not in error.user_message and "balance" not in error.user_message
    other = RunComfyError("boom", status_code=500, error_code=500001, retryable=True)
    assert not other.operator_problem and other.user_message != error.user_message


async def test_wrong_token_is_an_operator_problem(fake: FakeRunComfy) -> None:
    async with make_http_client(fake.base_url, SecretStr("wrong"), 1.0) as http:
        client = RunComfyClient(http)
        with pytest.raises(RunComfyError) as caught:
            await client.submit(MODEL, INPUT)
    assert caught.value.status_code == 401 and caught.value.operator_problem


@pytest.mark.parametrize(
    ("fault", "delay"),
    [
        ("submit_500_after_create", 0.0),
        ("500", 0.0),
        ("reset", 0.0),
        ("slow", 1.5),
        ("malformed", 0.0),
    ],
)
async def test_submit_is_sent_exactly_once_after_an_ambiguous_failure(
    fake: FakeRunComfy, client: RunComfyClient, fault: str, delay: float
) -> None:
    fake.inject("submit", fault, delay=delay)
    with pytest.raises(RunComfyError) as caught:
        await client.submit(MODEL, INPUT)
    assert caught.value.ambiguous
    assert fake.count("submit") == 1


async def test_submit_is_retried_after_429(fake: FakeRunComfy, client: RunComfyClient) -> None:
    fake.inject("submit", "429", retry_after=0.01)
    await client.submit(MODEL, INPUT)
    assert fake.count("submit") == 2
    assert len(fake.jobs) == 1


async def test_submit_is_retried_when_the_server_was_never_reached() -> None:
    async with make_http_client("http://127.0.0.1:9", SecretStr(TOKEN), 0.5) as http:
        client = RunComfyClient(http, max_attempts=2, backoff_base=0.001)
        with pytest.raises(RunComfyError) as caught:
            await client.submit(MODEL, INPUT)
    assert caught.value.retryable and not caught.value.ambiguous


async def test_submit_is_retried_when_it_never_got_a_connection(fake: FakeRunComfy) -> None:
    # One connection, held by a slow status call: the submit waits for it past the
    # pool timeout, which proves it was never sent, so it is tried again.
    fake.script(Timeline(manual=True))
    async with httpx.AsyncClient(
        base_url=fake.base_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=httpx.Timeout(5.0, pool=0.1),
        limits=httpx.Limits(max_connections=1),
    ) as http:
        client = RunComfyClient(http, backoff_base=0.3)
        fake.inject("status", "slow", delay=0.5)
        polling = asyncio.create_task(client.status("anything"))
        await asyncio.sleep(0.05)
        submitted = await client.submit(MODEL, INPUT)
        await asyncio.gather(polling, return_exceptions=True)
    assert fake.count("submit") == 1
    assert list(fake.jobs) == [submitted.request_id]


async def test_a_burst_of_polls_reuses_its_connections(
    fake: FakeRunComfy, client: RunComfyClient
) -> None:
    # 1,000 live jobs poll in bursts: every new connection is a TCP (and, at RunComfy,
    # TLS) handshake, and requests queued inside httpx's pool cost CPU per queued
    # request on every answer. The burst waits in the client, on pooled connections.
    fake.script(*[Timeline(manual=True) for _ in range(400)])
    ids = [(await client.submit(MODEL, INPUT)).request_id for _ in range(400)]
    for _ in range(2):
        fake.inject("status", "slow", times=400, delay=0.05)
        await asyncio.gather(*(client.status(rid) for rid in ids))
    polls = [q for q in fake.requests if q.endpoint == "status"]
    assert len(polls) == 800
    # 400-540 before (each answer closed its connection); a few idle past httpx's
    # 5 s keep-alive on a loaded machine may be replaced.
    assert len({q.peer for q in polls}) <= MAX_CONNECTIONS + 5


async def test_an_urgent_call_takes_the_next_free_connection_before_queued_polls(
    fake: FakeRunComfy, http: httpx.AsyncClient
) -> None:
    # A restart's polls fill every connection slot: the submit a user waits on goes
    # next, not behind every poll already waiting (as the budget's lanes promise).
    client = RunComfyClient(http, requests_per_second=1000.0, max_in_flight=2)
    fake.inject("status", "slow", times=8, delay=0.3)
    started = time.monotonic()
    polls = [asyncio.create_task(client.status("anything")) for _ in range(8)]
    await asyncio.sleep(0.05)
    await client.submit(MODEL, INPUT)
    waited = time.monotonic() - started
    await asyncio.gather(*polls, return_exceptions=True)
    # Two rounds of slow polls before it otherwise (0.6 s and more); one at most now.
    assert waited < 0.45


async def test_token_never_appears_in_errors_or_logs(
    fake: FakeRunComfy, client: RunComfyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.inject("submit", "token")
    errors: list[BaseException] = []
    for call in (client.submit(MODEL, INPUT), client.status("missing")):
        try:
            await call
        except RunComfyError as exc:
            errors.append(exc)
    assert len(errors) == 2
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert TOKEN not in caplog.text


async def test_download_streams_to_a_file_within_the_cap(
    fake: FakeRunComfy, client: RunComfyClient, tmp_path: Path
) -> None:
    fake.script(Timeline(manual=True, video_size=3_000_000))
    rid = (await client.submit(MODEL, INPUT)).request_id
    fake.set_state(rid, "completed")
    url = (await client.result(rid)).video_url
    assert url is not None
    async with cdn_client(allow_private=True, timeout=5.0) as cdn:
        dest = tmp_path / "v.mp4"
        size = await download_to_file(cdn, url, dest, max_bytes=5_000_000)
        assert size == 3_000_000
        assert dest.read_bytes() == FakeRunComfy.video_bytes(rid, 3_000_000)
        video_request = [r for r in fake.requests if r.endpoint == "video"][-1]
        assert "Authorization" not in video_request.headers  # the token stays with RunComfy

        too_small = tmp_path / "w.mp4"
        with pytest.raises(DownloadError) as caught:
            await download_to_file(cdn, url, too_small, max_bytes=1_000_000)
        assert caught.value.reason is DownloadProblem.TOO_LARGE and not too_small.exists()

        with pytest.raises(DownloadError) as insecure:
            await download_to_file(cdn, "file:///etc/passwd", tmp_path / "x", max_bytes=10)
        assert insecure.value.reason is DownloadProblem.REFUSED


async def test_model_reports_its_price_per_second(
    client: RunComfyClient, fake: FakeRunComfy
) -> None:
    fake.base_price_usd, fake.price_unit = 0.03, "second"
    info = await client.model(fake.model_id)
    assert info.model_id == fake.model_id
    assert info.input_schema == seedance_15()  # the model describes its own input
    assert (info.base_price_usd, info.price_unit) == (0.03, "second")
    fake.price_unit = "output"
    assert (await client.model(fake.model_id)).price_unit == "output"


async def test_model_price_is_never_guessed(client: RunComfyClient, fake: FakeRunComfy) -> None:
    fake.base_price_usd = None
    assert (await client.model(fake.model_id)).base_price_usd is None


async def test_retired_model_is_a_clear_error(client: RunComfyClient, fake: FakeRunComfy) -> None:
    fake.model_retired = True
    with pytest.raises(RunComfyError) as caught:
        await client.model(fake.model_id)
    assert caught.value.error_code == 400001 and not caught.value.retryable
