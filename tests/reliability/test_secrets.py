"""The tokens never leave the places they are meant for.

The suite runs with recognisable canary tokens (tests/fakes/harness.py); every
test is also checked by the `no_token_in_logs` fixture in conftest.py.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from app.client import AnimateBot
from bot.config import SettingsError, load_settings
from tests.cogs.animate.helpers import png, state_of, status_message
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN, RUNCOMFY_TOKEN, settings_for_fakes
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy, Timeline

CANARIES = (DISCORD_TOKEN, RUNCOMFY_TOKEN)


async def test_a_full_run_with_faults_leaks_no_token(
    bot: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    runcomfy_fake.inject("status", "500")
    runcomfy_fake.inject("status", "malformed")
    ok = await discord_fake.invoke("animate", image=png(), prompt="fine")
    await discord_fake.wait_for(lambda: ok.original_id)
    await discord_fake.wait_for(
        lambda: "Done" in state_of(status_message(discord_fake, ok)), within=10
    )
    runcomfy_fake.inject("submit", "token")
    refused = await discord_fake.invoke(
        "animate", image=png(), prompt="refused", user=discord_fake.stranger
    )
    await discord_fake.wait_for(lambda: refused.original_id)
    await discord_fake.wait_for(
        lambda: "Failed" in state_of(status_message(discord_fake, refused)), within=10
    )

    shown = json.dumps(
        [[m.content, m.embeds, m.components] for m in discord_fake.messages.values()]
    )
    database = b"".join(
        p.read_bytes() for p in Path(bot.settings.database_path).parent.glob("bot.db*")
    )
    for canary in CANARIES:
        assert canary not in caplog.text
        assert canary not in shown
        assert canary.encode() not in database
    # RunComfy did get its token, and only RunComfy: never the video CDN or Discord.
    assert all(
        r.headers.get("Authorization") == f"Bearer {RUNCOMFY_TOKEN}"
        for r in runcomfy_fake.requests
        if r.endpoint != "video"
    )
    assert all(
        "Authorization" not in r.headers for r in runcomfy_fake.requests if r.endpoint == "video"
    )


def test_settings_errors_never_echo_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_TOKEN)
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", RUNCOMFY_TOKEN)
    monkeypatch.setenv("QUOTA_USER_DAILY", "not a number")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "QUOTA_USER_DAILY" in str(caught.value)
    for canary in CANARIES:
        assert canary not in str(caught.value)
    settings = load_settings(_env_file=None, quota_user_daily=3)
    assert DISCORD_TOKEN not in repr(settings) and RUNCOMFY_TOKEN not in str(settings)


def test_missing_tokens_give_a_friendly_message_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "RUNCOMFY_API_TOKEN" in result.stderr
    assert ".env" in result.stderr and "Traceback" not in result.stderr


async def test_interaction_tokens_stay_out_of_a_debug_log(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """An interaction's token lets whoever holds it post as the bot for 15 minutes; at
    LOG_LEVEL=DEBUG discord.py logged it in every gateway event and webhook URL."""
    log = tmp_path / "bot.log"
    settings = settings_for_fakes(
        discord_fake, runcomfy_fake, tmp_path / "bot.db", log_level="DEBUG"
    )
    bot = BotProcess(settings, discord_fake, log)
    await bot.start()
    try:
        runcomfy_fake.script(*(Timeline(queue_seconds=0.1, run_seconds=0.1) for _ in range(2)))
        here = await discord_fake.invoke("animate", image=png(), prompt="a cat")
        there = await discord_fake.invoke(
            "animate", image=png(), prompt="a dog", channel=discord_fake.group_dm
        )
        await discord_fake.wait_for(
            lambda: all(len(ix.followup_ids) >= 1 for ix in (here, there)), within=20
        )
    finally:
        await bot.stop()
    text = log.read_text()
    assert "INTERACTION_CREATE" in text and "/webhooks/" in text  # what was logged, redacted
    for interaction in discord_fake.interactions.values():
        assert interaction.token not in text
    for canary in CANARIES:
        assert canary not in text
