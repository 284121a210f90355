"""`python -m bot health`: healthy while the running bot's heartbeat is fresh."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app import cli
from bot.config import Settings
from bot.health import STALE_AFTER_SECONDS, beat
from tests.fakes.harness import BotRunner
from tests.fakes.process import settings_env


def env_for(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)


async def test_health_follows_the_heartbeat_of_the_running_bot(
    runner: BotRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    heartbeat = tmp_path / "run" / "heartbeat"
    env_for(runner.settings.model_copy(update={"heartbeat_path": heartbeat}), monkeypatch, tmp_path)
    assert cli.main(["health"]) == 1  # not started yet
    assert "no heartbeat" in capsys.readouterr().err

    await runner.start(heartbeat_path=heartbeat)
    await runner.discord_fake.wait_for(heartbeat.exists, within=5)
    assert cli.main(["health"]) == 0
    assert "✓" in capsys.readouterr().out

    await runner.stop()
    assert not heartbeat.exists()  # a stopped bot is unhealthy at once
    assert cli.main(["health"]) == 1


async def test_health_says_unhealthy_when_the_heartbeat_is_stale(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    heartbeat = tmp_path / "heartbeat"
    env_for(settings.model_copy(update={"heartbeat_path": heartbeat}), monkeypatch, tmp_path)
    beat(heartbeat)  # as the bot writes it, naming this (running) process
    assert cli.main(["health"]) == 0
    old = time.time() - STALE_AFTER_SECONDS - 5
    os.utime(heartbeat, (old, old))
    assert cli.main(["health"]) == 1
    assert "stuck" in capsys.readouterr().err
    assert cli.main(["health", "--max-age", str(STALE_AFTER_SECONDS + 60)]) == 0


async def test_health_without_heartbeat_path_is_unhealthy(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(settings, monkeypatch, tmp_path)
    monkeypatch.delenv("HEARTBEAT_PATH", raising=False)
    assert cli.main(["health"]) == 1
    assert "HEARTBEAT_PATH is not set" in capsys.readouterr().err
