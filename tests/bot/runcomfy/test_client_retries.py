"""The RunComfy client through faults: safe calls retried, a submit sent once, no token shown."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from pydantic import SecretStr

from bot.runcomfy import RunComfyClient, RunComfyError, make_http_client
from tests.bot.runcomfy.helpers import INPUT, MODEL, TOKEN
from tests.fakes.runcomfy import FakeRunComfy, Timeline


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
