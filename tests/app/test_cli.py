"""`python -m bot`: --help, running the bot until Ctrl-C, and the image's settings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from tests.app.cli_helpers import CHILD_SECONDS, run_child
from tests.bot.test_metrics import free_port
from tests.fakes.discord import FakeDiscord
from tests.fakes.process import REPO, settings_env


async def test_help_lists_the_subcommands_and_starts_nothing(tmp_path: Path) -> None:
    # No settings at all: --help must not need them, nor create a database.
    code, out, err = await run_child("--help", cwd=tmp_path)
    assert code == 0, err
    for command in ("run", "check", "backup", "health"):
        assert f"    {command} " in out
    assert list(tmp_path.iterdir()) == []


async def test_python_m_bot_runs_the_bot_until_ctrl_c(
    settings: Settings, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    """No subcommand runs the bot, as before: it connects, beats, serves metrics, stops."""
    heartbeat, port = tmp_path / "heartbeat", free_port()
    env = settings_env(
        settings.model_copy(update={"heartbeat_path": heartbeat, "metrics_port": port})
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.run_cli",
        "--discord-url",
        discord_fake.base_url,
        cwd=str(tmp_path),
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(discord_fake.identified.wait(), CHILD_SECONDS)
        await discord_fake.wait_for(heartbeat.exists, within=10)
        async with httpx.AsyncClient() as http:
            scraped = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert "animate_live_trackers" in scraped.text
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), CHILD_SECONDS)
        await discord_fake.drop_gateway()
    assert proc.returncode == 0, err.decode()
    assert not heartbeat.exists()


def docker_env_file(path: Path) -> dict[str, str]:
    """What `docker run --env-file` makes of a file: KEY=VALUE lines, `#` comments skipped."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def image_env(name: str) -> str:
    """The value the Dockerfile's ENV gives `name`."""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        line = line.strip().removeprefix("ENV ").rstrip("\\").strip()
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"the Dockerfile sets no {name}")


def test_env_example_in_the_image_keeps_the_images_database_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`docker run --env-file .env` (copied from .env.example) must not undo the image's ENV."""
    image = {name: image_env(name) for name in ("DATABASE_PATH", "HEARTBEAT_PATH", "METRICS_HOST")}
    assert image["DATABASE_PATH"].startswith("/data/")  # the VOLUME
    monkeypatch.chdir(tmp_path)
    for name, value in {**image, **docker_env_file(REPO / ".env.example")}.items():
        monkeypatch.setenv(name, value)
    values: dict[str, Any] = {"discord_token": "x", "runcomfy_api_token": "y"}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert settings.database_path == Path(image["DATABASE_PATH"])
    assert settings.heartbeat_path == Path(image["HEARTBEAT_PATH"])
    assert settings.metrics_host == image["METRICS_HOST"] == "0.0.0.0"
