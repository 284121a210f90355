"""How the tests of `python -m bot` and its subcommands run it, against the loopback fakes.

End to end in a child process where the exit code is the point (`--help`, `check`
healthy and misconfigured, `backup` while the bot's connection writes); in-process
for the other `check` failures, through the same `check()` the command runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app import cli
from bot.config import Settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import pointed_at
from tests.fakes.process import REPO

CHILD_SECONDS = 60  # a cold interpreter importing discord.py on a loaded machine


async def run_child(
    *args: str, env: dict[str, str] | None = None, cwd: Path, discord_url: str | None = None
) -> tuple[int, str, str]:
    """`python -m bot ARGS` (or through run_cli, when Discord must be the fake)."""
    module = ["-m", "bot"] if discord_url is None else ["-m", "tests.fakes.run_cli"]
    prefix = [] if discord_url is None else ["--discord-url", discord_url]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *module,
        *prefix,
        *args,
        cwd=str(cwd),
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CHILD_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def check_in_process(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    with pointed_at(discord_fake):
        code = await cli.check(settings)
    return code, capsys.readouterr().out.splitlines()


def line_of(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert found, f"no line starting {start!r} in {lines}"
    return found[0]
