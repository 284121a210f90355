"""A heartbeat file: proof that this bot process is connected and its event loop runs.

The bot writes the file every few seconds from its event loop, and only while the
gateway is connected; `python -m bot health` (the Docker HEALTHCHECK) says unhealthy
when the file is older than a minute. A stuck loop or a lost gateway stops the
writes, so the check means something a port probe would not. The file names the
process that wrote it (pid and start time): one left by a previous run of the same
container (killed, so it could not remove it) is not taken for the running bot's.
Discord-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

BEAT_EVERY_SECONDS = 2.0
STALE_AFTER_SECONDS = 60.0


def process_identity(pid: int) -> str | None:
    """`PID START` for a running process, START its start time; None if it has ended.

    A pid alone is not enough: the bot of a restarted container often gets its
    predecessor's pid. Without /proc (not Linux), the pid is all there is.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # it exists, as another user's
        return str(pid)
    except OSError:
        return None
    # The name in parentheses may hold spaces; field 22, the start time, is the 20th after.
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def beat(path: Path, identity: str | None = None) -> None:
    """Write the heartbeat, naming this process; replaced whole, never read half-written."""
    identity = identity or process_identity(os.getpid()) or str(os.getpid())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(identity + "\n")
    os.replace(partial, path)


async def beat_forever(
    path: Path, connected: Callable[[], bool], *, every: float = BEAT_EVERY_SECONDS
) -> None:
    """Write `path` while `connected()`; remove it when stopped, so a stopped bot is unhealthy."""
    warned = False
    identity = process_identity(os.getpid())
    try:
        while True:
            if connected():
                try:
                    beat(path, identity)
                    warned = False
                except OSError as exc:
                    if not warned:
                        log.warning("Cannot write the heartbeat file %s: %s", path, exc)
                        warned = True
            await asyncio.sleep(every)
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def heartbeat_problem(
    path: Path, *, max_age: float = STALE_AFTER_SECONDS, now: float | None = None
) -> str | None:
    """Why the bot is not healthy, or None when its heartbeat is fresh and its writer runs."""
    try:
        modified = path.stat().st_mtime
        writer = path.read_text().strip()
    except FileNotFoundError:
        return f"no heartbeat at {path}: the bot is not running or not connected yet"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read the heartbeat at {path}: {exc}"
    pid = writer.split()[0] if writer else ""
    if not pid.isdigit():
        return f"the heartbeat at {path} names no bot process: the bot is not connected yet"
    if process_identity(int(pid)) != writer:
        return (
            f"the heartbeat at {path} was left by process {pid}, which has ended: "
            "the bot running now is not connected yet"
        )
    age = (time.time() if now is None else now) - modified
    if age > max_age:
        return (
            f"heartbeat at {path} is {age:.0f} s old (limit {max_age:.0f} s): "
            "the gateway is disconnected or the event loop is stuck"
        )
    return None
