"""Start-up failures of the bot process at its edges: one readable line, no traceback.

The bot runs as a process against the loopback fakes, as an operator meets it
(the other start-up failures are in tests/bot/test_config.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.app.conftest import DiscordWithOutages
from tests.bot.test_config import assert_readable, bot_command
from tests.fakes.runcomfy import FakeRunComfy

CHILD_SECONDS = 60  # a cold interpreter importing discord.py on a loaded machine


async def run_to_its_end(
    tmp_path: Path, discord_url: str, runcomfy_url: str, **env: str
) -> tuple[int, str]:
    """Run the bot until it ends by itself; its exit code and everything it printed."""
    command = bot_command(tmp_path, discord_url, {"RUNCOMFY_BASE_URL": runcomfy_url, **env})
    proc = await asyncio.create_subprocess_exec(
        *command["args"],
        cwd=command["cwd"],
        env=command["env"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), CHILD_SECONDS)
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_discord_gone_between_the_login_and_the_gateway_stops_the_start_readably(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_with_outages
    fake.gateway_gone = True  # the login is answered; the gateway hangs up

    code, output = await run_to_its_end(tmp_path, fake.base_url, runcomfy_fake.base_url)

    assert_readable(code, output, "Discord", "gateway")
    assert code == 1  # as when Discord cannot be reached at all: the restart policy retries
    assert fake.count("GET", "/users/@me") == 1  # it did log in
