"""A heartbeat file: proof that the gateway is connected and the event loop runs.

The bot touches the file every few seconds from its event loop, and only while the
gateway is connected; `python -m bot health` (the Docker HEALTHCHECK) says unhealthy
when the file is older than a minute. A stuck loop or a lost gateway stops the
touches, so the check means something a port probe would not. Discord-free.
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


def beat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    # touch() keeps the mtime of an existing file on some filesystems; set it.
    os.utime(path)


async def beat_forever(
    path: Path, connected: Callable[[], bool], *, every: float = BEAT_EVERY_SECONDS
) -> None:
    """Touch `path` while `connected()`; remove it when stopped, so a stopped bot is unhealthy."""
    warned = False
    try:
        while True:
            if connected():
                try:
                    beat(path)
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
    """Why the bot is not healthy, or None when its heartbeat is fresh."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return f"no heartbeat at {path}: the bot is not running or not connected yet"
    except OSError as exc:
        return f"cannot read the heartbeat at {path}: {exc.strerror}"
    age = (time.time() if now is None else now) - modified
    if age > max_age:
        return (
            f"heartbeat at {path} is {age:.0f} s old (limit {max_age:.0f} s): "
            "the gateway is disconnected or the event loop is stuck"
        )
    return None
