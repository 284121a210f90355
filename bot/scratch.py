"""This process's scratch directory for videos, and the sweep of those a killed process left.

Only folders the bot made and marked are swept, never others that merely look alike.

A process holds a lock (flock) on its directory for as long as it lives, and the kernel
lets go of it however the process ends (SIGKILL, the OOM killer). So a directory whose
lock can be taken belongs to nobody: its half-downloaded videos are removed when the
next bot on this machine makes its own directory. systemd-tmpfiles, for its part,
leaves a locked directory alone however old.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "animate-scratch-"
# Made under this name, renamed once marked and locked: a sweep never sees a directory
# unlocked by a process that is alive.
MAKING = ".animate-making-"
# Inside each: only a folder the bot made is ever swept, never one that looks like it.
MARK = ".animate-scratch"


class ScratchDir:
    """One directory for the process, made at the first use (a directory per video
    would cost a mkdir and an rmtree each), made again if /tmp's cleaner took it."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._path: Path | None = None
        self._lock: int | None = None

    @property
    def current(self) -> Path | None:
        """The directory as it stands, None before the first use."""
        return self._path

    def path(self) -> Path:
        if self._path is None or not self._path.is_dir():
            self._release()
            root = self.root or Path(tempfile.gettempdir())
            sweep_orphans(root)
            making = Path(tempfile.mkdtemp(prefix=MAKING, dir=root))
            (making / MARK).touch()
            self._lock = _lock(making)
            assert self._lock is not None  # nobody else knows it yet
            self._path = making.with_name(PREFIX + making.name.removeprefix(MAKING))
            making.rename(self._path)
        return self._path

    def remove(self) -> None:
        """Remove the directory and what is in it (blocking)."""
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def sweep_orphans(root: Path) -> int:
    """Remove the scratch directories in `root` that no living process holds; how many."""
    removed = 0
    try:
        candidates = list(root.glob(f"{PREFIX}*"))
    except OSError:
        return 0
    for candidate in candidates:
        held = _lock(candidate) if (candidate / MARK).is_file() else None
        if held is None:
            continue
        try:
            shutil.rmtree(candidate, ignore_errors=True)
            removed += 1
        finally:
            os.close(held)
    if removed:
        log.info("Removed %d scratch directories left by stopped processes", removed)
    return removed


def _lock(directory: Path) -> int | None:
    """The directory opened and locked, if it is ours and nobody holds it; else None."""
    try:
        status = directory.lstat()  # a link is never followed
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
            return None
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None  # held: its process lives
    return fd
