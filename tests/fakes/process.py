"""The bot as a separate process: start, SIGKILL, SIGTERM, stop, and read its CPU and memory."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.fakes.discord import FakeDiscord

REPO = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The bot as PID 1 of its own PID namespace, as in a container: the kernel then drops
# every signal it has no handler for (a plain SIGTERM does nothing).
AS_PID_1 = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def can_run_as_pid_1() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes `load_settings()` in the child equal `settings`."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        env[name.upper()] = str(value)
    return env


class BotProcess:
    def __init__(self, settings: Settings, discord_fake: FakeDiscord, log: Path) -> None:
        self.settings = settings
        self.discord_fake = discord_fake
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.as_pid_1 = False
        # Its own temporary folder: what it leaves there is the test's to see, not /tmp's.
        self.tmp = log.parent / "tmp"

    async def start(
        self, *, within: float = 20.0, as_pid_1: bool = False, until_connected: bool = True
    ) -> None:
        """Start the bot; by default, return once it has connected to the fake gateway."""
        self.discord_fake.identified.clear()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(self.tmp),
            **settings_env(self.settings),
        }
        self.tmp.mkdir(exist_ok=True)
        with self.log.open("ab") as log:
            # BOT_PROFILE=path writes the bot's cProfile stats there (benchmark digging).
            profile = os.environ.get("BOT_PROFILE")
            prefix = ["-m", "cProfile", "-o", profile] if profile else []
            self.as_pid_1 = as_pid_1
            self.proc = await asyncio.create_subprocess_exec(
                *(AS_PID_1 if as_pid_1 else ()),
                sys.executable,
                *prefix,
                "-m",
                "tests.fakes.run_bot",
                "--discord-url",
                self.discord_fake.base_url,
                cwd=str(self.log.parent),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        if until_connected:
            await asyncio.wait_for(self.discord_fake.identified.wait(), within)

    async def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when the machine or the OOM killer ends it."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self.proc = None
        # Only this process's connections (another process may share the fake).
        await self.discord_fake.drop_gateway(self.settings.shard_ids or None)

    async def stop(self) -> None:
        """Ctrl-C: the bot closes cleanly."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()
        self.proc = None
        # Only this process's connections (another process may share the fake).
        await self.discord_fake.drop_gateway(self.settings.shard_ids or None)

    def send(self, sig: signal.Signals) -> None:
        """Send `sig` to the bot itself (under `unshare`, to its PID 1, not to unshare)."""
        assert self.proc is not None
        os.kill(self._bot_pid(), sig)

    def _bot_pid(self) -> int:
        assert self.proc is not None
        if not self.as_pid_1:
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return int(children.read_text().split()[0])

    async def wait_exit(self, *, within: float = 10.0) -> tuple[int | None, float]:
        """Exit code and seconds taken; (None, within) if it was still running (then killed)."""
        assert self.proc is not None
        began = time.monotonic()
        try:
            code = await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            await self.kill()
            return None, within
        self.proc = None
        await self.discord_fake.drop_gateway()
        return code, time.monotonic() - began

    async def terminate(self, *, within: float = 10.0) -> tuple[int | None, float]:
        """SIGTERM, as `docker stop` sends: the exit code and how long the bot took."""
        self.send(signal.SIGTERM)
        return await self.wait_exit(within=within)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime

    def memory(self) -> dict[str, int]:
        """Current and peak resident memory in bytes (VmRSS, VmHWM)."""
        values: dict[str, Any] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
        return values
