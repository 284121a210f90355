"""The JobService harness: the service against the loopback RunComfy fake and a real SQLite
store.

The observer here is the Discord boundary (the animate cog in production): a
recorder of what the service asked to show, so these tests need no Discord.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.domain import ImageFacts, Job, JobStatus
from bot.jobs import Delivery, JobService, LinkReason, ProgressNote
from bot.models.registry import Models
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import JobStore
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import options, seedance

TOKEN = "rc-test-token-0123456789"


IMAGE = ImageFacts(filename="cat.png", format="PNG", width=800, height=600, size_bytes=12345)


class RecordingObserver:
    """Stands in for the animate cog: records what users would be shown."""

    def __init__(self, upload_limit: int = 10 * 1024 * 1024) -> None:
        self.updates: list[Job] = []
        self.ended: list[Job] = []
        self.delivered: list[tuple[Job, bytes | None]] = []
        self.alerts: list[str] = []
        self.notes: list[ProgressNote] = []
        self.reasons: list[LinkReason | None] = []
        self.limit = upload_limit
        self.changed = asyncio.Event()
        self.deliveries_failing = 0  # the next N deliveries raise, as a bug in the cog would
        self.nowhere = False  # no place reaches the author: deliveries return None

    async def job_updated(self, job: Job) -> None:
        self.updates.append(job)
        self.changed.set()

    async def job_ended(self, job: Job) -> None:
        self.ended.append(job)
        self.changed.set()

    def upload_limit(self, job: Job) -> int:
        return self.limit

    async def job_progress(self, job: Job, note: ProgressNote) -> None:
        self.notes.append(note)

    async def deliver(
        self, job: Job, video: Path | None, *, why: LinkReason | None = None
    ) -> Delivery | None:
        if self.deliveries_failing:
            self.deliveries_failing -= 1
            raise RuntimeError("a bug on the way to Discord")
        if self.nowhere:
            return None
        self.delivered.append((job, video.read_bytes() if video else None))
        self.reasons.append(why)
        self.changed.set()
        return Delivery(channel_id=job.channel_id, message_id=9000 + len(self.delivered))

    async def alert_operator(self, text: str) -> None:
        self.alerts.append(text)


def make_settings(tmp_path: Path, base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "discord_token": SecretStr("discord-test-token"),
        "runcomfy_api_token": SecretStr(TOKEN),
        "runcomfy_base_url": base_url,
        "database_path": tmp_path / "jobs.db",
        "poll_min_seconds": 0.02,
        "poll_max_seconds": 0.1,
        "default_eta_seconds": 0.3,
        "job_timeout_seconds": 5.0,
        "allow_private_urls": True,  # the fake's videos live on 127.0.0.1
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class Harness:
    def __init__(self, service: JobService, observer: RecordingObserver, fake: FakeRunComfy):
        self.service = service
        self.observer = observer
        self.fake = fake

    async def new_job(self, user_id: int = 1, prompt: str = "p", **picked: object) -> Job:
        """A job's row as /animate writes it before the submit: not sent to RunComfy yet."""
        job = await self.service.create(
            user_id=user_id,
            guild_id=10,
            channel_id=20,
            prompt=prompt,
            model=seedance(),
            options=options(**picked),
            image=IMAGE,
        )
        assert job.id is not None
        return job

    async def start_job(self, user_id: int = 1, **picked: object) -> Job:
        job = await self.new_job(user_id, "the cat blinks", **picked)
        assert job.id is not None
        return await self.service.submit(
            job.id,
            image_url="https://cdn.example/cat.png",
            status_message_id=30 + job.id,
            hosted_url=None,
        )

    async def wait_status(self, job_id: int, *statuses: JobStatus, within: float = 5) -> Job:
        async def poll() -> Job:
            while True:
                # Wait until users were told, not just until the row changed.
                if any(u.id == job_id and u.status in statuses for u in self.observer.updates):
                    job = await self.service.store.get(job_id)
                    assert job is not None
                    return job
                self.observer.changed.clear()
                with _suppress_timeout():
                    await asyncio.wait_for(self.observer.changed.wait(), 0.05)

        return await asyncio.wait_for(poll(), within)


class _suppress_timeout:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return exc_type is TimeoutError


@pytest.fixture
async def harness_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., object]]:
    """Builds service + store + fake; everything is closed at teardown."""
    stack: list[object] = []

    async def build(**overrides: object) -> Harness:
        fake = FakeRunComfy(token=TOKEN)
        await fake.start()
        settings = make_settings(tmp_path, fake.base_url, **overrides)
        http = make_http_client(fake.base_url, settings.runcomfy_api_token, 2.0)
        store = await JobStore.open(settings.database_path)
        client = RunComfyClient(http, backoff_base=0.01)
        models = Models(client, store, settings.model_ids)
        await models.load()
        service = JobService(settings=settings, store=store, runcomfy=client, models=models)
        observer = RecordingObserver()
        service.observer = observer
        stack.append((service, store, http, fake))
        return Harness(service, observer, fake)

    yield build
    for service, store, http, fake in reversed(stack):  # type: ignore[misc]
        await service.close()
        await store.close()
        await http.aclose()
        await fake.close()
