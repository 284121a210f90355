"""SIGHUP and SIGUSR1/SIGUSR2 sent to the bot, as a careless operator (or a closed
terminal) sends them: never a death without a word.

Python's defaults end the process at once on each, with nothing logged and a command
under way cut off mid-send. SIGHUP (the terminal went away) stops the bot gracefully, as
SIGTERM does; the user signals mean nothing to the bot: logged and ignored.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.app.test_signals import STOP_WITHIN, bot_settings, log_of, until_logged
from tests.fakes.discord import FakeDiscord
from tests.fakes.process import BotProcess
from tests.fakes.runcomfy import FakeRunComfy


async def test_sighup_stops_the_bot_gracefully_with_exit_0(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    bot.send(signal.SIGHUP)
    code, seconds = await bot.wait_exit(within=STOP_WITHIN)
    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    log = log_of(tmp_path)
    assert "Received SIGHUP" in log and "Traceback" not in log


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGUSR2], ids=lambda s: s.name)
async def test_a_user_signal_is_logged_and_the_bot_goes_on(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path, sig: signal.Signals
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    try:
        bot.send(sig)
        await until_logged(tmp_path, f"Received {sig.name}")
        await asyncio.sleep(0.5)
        assert bot.proc is not None and bot.proc.returncode is None, log_of(tmp_path)
        assert "ignored" in log_of(tmp_path)
    finally:
        code, _ = await bot.terminate(within=STOP_WITHIN)
    assert code == 0, log_of(tmp_path)
