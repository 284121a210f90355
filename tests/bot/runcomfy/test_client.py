"""The real RunComfy client (real httpx) against the loopback fake: what it sends and reads."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runcomfy import ModelInfo, RequestResult, RunComfyClient, RunComfyError
from bot.runcomfy import client as runcomfy
from tests.bot.runcomfy.helpers import INPUT, MODEL, TOKEN
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import seedance_15


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
