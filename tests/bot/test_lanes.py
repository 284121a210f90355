"""The lane transport under the RunComfy client: real httpx against the loopback fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.lanes import LaneTransport
from tests.fakes.runcomfy import FakeRunComfy

LANES = 3


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunComfy]:
    async with FakeRunComfy(token="t") as server:
        yield server


@pytest.fixture
async def transport() -> AsyncIterator[LaneTransport]:
    lanes = LaneTransport(LANES)
    yield lanes
    await lanes.aclose()


def client(fake: FakeRunComfy, transport: LaneTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=fake.base_url,
        headers={"Authorization": "Bearer t"},
        transport=transport,
        timeout=5.0,
    )


async def test_requests_at_once_spread_over_every_lane_and_keep_their_connections(
    fake: FakeRunComfy, transport: LaneTransport
) -> None:
    fake.inject("model", "slow", times=60, delay=0.05)
    async with client(fake, transport) as http:
        for _ in range(2):
            answers = await asyncio.gather(
                *(http.get(f"/v1/models/{fake.model_id}") for _ in range(30))
            )
            assert all(a.status_code == 200 for a in answers)
    peers = {q.peer for q in fake.requests}
    # One connection per lane, each used for many requests, none opened twice.
    assert len(peers) == LANES
    assert transport.busy == (0,) * LANES


async def test_a_cancelled_a_broken_or_an_unread_answer_frees_its_lane(
    fake: FakeRunComfy, transport: LaneTransport
) -> None:
    model = f"/v1/models/{fake.model_id}"
    async with client(fake, transport) as http:
        fake.inject("model", "slow", times=1, delay=1.0)
        waiting = asyncio.create_task(http.get(model))
        for _ in range(200):  # bounded: until the fake has the request
            if fake.requests:
                break
            await asyncio.sleep(0.01)
        assert transport.busy.count(1) == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert transport.busy == (0,) * LANES

        fake.inject("model", "reset", times=1)
        with pytest.raises(httpx.HTTPError):
            await http.get(model)
        assert transport.busy == (0,) * LANES

        async with http.stream("GET", model) as answer:
            assert answer.status_code == 200
            assert sum(transport.busy) == 1  # held while the body may still be read
        assert transport.busy == (0,) * LANES
        assert (await http.get(model)).status_code == 200


def test_a_transport_needs_a_lane() -> None:
    with pytest.raises(ValueError):
        LaneTransport(0)
