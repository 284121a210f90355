"""The registry's tests: a fake RunComfy, a store, and Models built over both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.models.registry import Models
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_25, seedance_25

TOKEN = "registry-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunComfy]:
    async with FakeRunComfy(token=TOKEN) as running:
        running.host(SEEDANCE_25, seedance_25(), base_price_usd=0.35)
        yield running


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    async with await JobStore.open(tmp_path / "bot.db") as opened:
        yield opened


class Alerts(list[str]):
    async def __call__(self, text: str) -> None:
        self.append(text)


Build = Callable[..., Models]


@pytest.fixture
async def models_for(fake: FakeRunComfy, store: JobStore) -> AsyncIterator[Build]:
    http = make_http_client(fake.base_url, SecretStr(TOKEN), 5.0)
    client = RunComfyClient(http, max_attempts=2, backoff_base=0.001)

    def build(*ids: str, alerts: Alerts | None = None, **options: Any) -> Models:
        options.setdefault("start_confirm_seconds", 0.01)
        return Models(client, store, ids, alert=alerts, **options)

    async with http:
        yield build
