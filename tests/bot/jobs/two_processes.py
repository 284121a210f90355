"""Two bot processes on one PostgreSQL database, each with its shards of the fake Discord:
A holds shards 0 and 1, B shard 2 (where the fake guild lives)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy

SHARDS = 3


def ready(process: BotProcess) -> bool:
    """Every shard of the process is up (discord.py's on_ready, logged by the bot)."""
    return "Ready as" in process.log.read_text()


async def start_pair(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    pg_url: str,
    tmp_path: Path,
    *,
    lease_seconds: float,
    **overrides: Any,
) -> tuple[BotProcess, BotProcess]:
    """A and B started, each once all its shards are ready."""
    common = settings_for_fakes(
        discord_fake,
        runcomfy_fake,
        tmp_path / "unused.db",
        database_url=pg_url,
        lease_seconds=lease_seconds,
        shard_count=SHARDS,
        poll_max_seconds=0.3,
        **overrides,
    )
    a = BotProcess(
        common.model_copy(update={"process_id": "proc-a", "shard_ids": [0, 1]}),
        discord_fake,
        tmp_path / "a.log",
    )
    b = BotProcess(
        common.model_copy(update={"process_id": "proc-b", "shard_ids": [2]}),
        discord_fake,
        tmp_path / "b.log",
    )
    for process in (a, b):
        await process.start()
    # `start` returns at the first IDENTIFY; A has a second shard to connect.
    await discord_fake.wait_for(lambda: all(ready(p) for p in (a, b)), within=30)
    return a, b
