"""What the /animate tests share: a picture, the status message and its state, a queued job,
a fast timeline and the log of the jobs' loggers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.scratch import MARK
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline


def png(width: int = 800, height: int = 600, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (30, 120, 200)[: len(mode)]).save(out, format="PNG")
    return out.getvalue()


def status_message(fake: FakeDiscord, interaction) -> FakeMessage:  # type: ignore[no-untyped-def]
    return fake.messages[interaction.original_id]


def state_of(message: FakeMessage) -> str:
    return embed_field(message, "State") if message.embeds else ""


async def wait_state(fake: FakeDiscord, message: FakeMessage, words: str) -> None:
    await fake.wait_for(lambda: words in state_of(message), within=10)


def embed_field(message: FakeMessage, name: str) -> str:
    for field in message.embeds[0].get("fields", []):
        if field["name"] == name:
            return field["value"]
    raise KeyError(name)


async def start_queued(
    fake: FakeDiscord, runcomfy: FakeRunComfy, **options: object
) -> tuple[object, FakeMessage]:
    """Start a job that stays queued (manual timeline) and return its status message."""
    runcomfy.script(Timeline(manual=True))
    ix = await fake.invoke("animate", image=png(), prompt="a cat yawns", **options)
    await fake.wait_for(lambda: ix.original_id)
    status = status_message(fake, ix)
    await until_queued_and_cancellable(fake, status)
    return ix, status


async def until_queued_and_cancellable(fake: FakeDiscord, status: FakeMessage) -> None:
    """Wait for the command's last step, the bot's ❌, so no command task outlives the test."""
    await fake.wait_for(
        lambda: "Queued" in state_of(status) and fake.bot.id in status.reactions.get("❌", ())
    )


def request_id_of(runcomfy: FakeRunComfy) -> str:
    return list(runcomfy.jobs)[-1]


def posted_videos(fake: FakeDiscord) -> list[FakeMessage]:
    return [
        m
        for m in fake.channel_messages()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]


FAST = {"queue_seconds": 0.05, "run_seconds": 0.05}


def jobs_log(caplog: pytest.LogCaptureFixture, logger: str, level: int) -> list[str]:
    """Messages of `logger` and its children (bot.jobs: bot.jobs.service, ...)."""
    return [
        r.getMessage()
        for r in caplog.records
        if (r.name == logger or r.name.startswith(logger + ".")) and r.levelno >= level
    ]


def scratch_files(folder: Path) -> list[Path]:
    """What the bot keeps in its scratch directory, but the mark that makes it the bot's."""
    return [p for p in folder.iterdir() if p.name != MARK]
