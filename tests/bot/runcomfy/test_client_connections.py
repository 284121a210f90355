"""Connections: reused by a burst of polls, the next free one to an urgent call; downloads."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bot.downloads import DownloadError, DownloadProblem, cdn_client, download_to_file
from bot.runcomfy import RunComfyClient
from bot.runcomfy.client import DEFAULT_CONNECTIONS
from tests.bot.runcomfy.helpers import INPUT, MODEL
from tests.fakes.runcomfy import FakeRunComfy, Timeline


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
    assert len({q.peer for q in polls}) <= DEFAULT_CONNECTIONS + 5


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
