"""The real RunComfy client (real httpx) against the loopback fake, as fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.runcomfy import RunComfyClient, make_http_client
from tests.bot.runcomfy.helpers import TOKEN
from tests.fakes.runcomfy import FakeRunComfy


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
