"""The scratch directory for videos, and what a killed process leaves there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bot.scratch import MARK, PREFIX, ScratchDir


def _left_by_a_killed_process(root: Path, name: str) -> Path:
    """What SIGKILL leaves mid-download: the directory (its lock went with the process)
    and a part file."""
    left = root / name
    left.mkdir()
    (left / MARK).touch()
    (left / "job-3-1.mp4").write_bytes(b"\0" * 4096)
    return left


def test_a_killed_process_s_videos_are_removed_when_the_next_makes_its_own(
    tmp_path: Path,
) -> None:
    left = _left_by_a_killed_process(tmp_path, f"{PREFIX}dead1234")
    scratch = ScratchDir(tmp_path)
    mine = scratch.path()
    assert not left.exists()
    assert mine.is_dir() and mine.name.startswith(PREFIX)
    scratch.remove()
    assert not mine.exists()


def test_a_live_process_s_directory_is_left_alone(tmp_path: Path) -> None:
    first = ScratchDir(tmp_path)
    theirs = first.path()
    (theirs / "job-1-1.mp4").write_bytes(b"video")
    # Another process of the bot on the same machine, holding its lock.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from bot.scratch import ScratchDir; "
            f"s = ScratchDir(Path({str(tmp_path)!r})); print(s.path(), flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        held = Path(holder.stdout.readline().strip())
        assert held.is_dir()
        second = ScratchDir(tmp_path)
        second.path()
        assert (theirs / "job-1-1.mp4").exists()  # this process's own, alive
        assert held.is_dir()  # the other process's, alive
        holder.kill()
        holder.wait(timeout=10)
        third = ScratchDir(tmp_path)
        third.path()
        assert not held.exists()  # its lock went with it
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    for scratch in (first, second, third):
        scratch.remove()


def test_only_our_own_directories_are_swept_and_links_are_not_followed(tmp_path: Path) -> None:
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    (tmp_path / f"{PREFIX}link0000").symlink_to(target, target_is_directory=True)
    scratch = ScratchDir(tmp_path)
    scratch.path()
    assert unrelated.exists() and (target / "keep.txt").exists()
    scratch.remove()


def test_a_scratch_directory_taken_by_a_tmp_cleaner_is_made_again(tmp_path: Path) -> None:
    scratch = ScratchDir(tmp_path)
    first = scratch.path()
    shutil.rmtree(first)
    again = scratch.path()
    assert again.is_dir() and again != first
    scratch.remove()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_only_looks_like_ours_is_left_alone(tmp_path: Path) -> None:
    # A benchmark's own "animate-bench-…" folder (its database, its log) was swept away
    # under it: only folders the bot made, and marked, are ever removed.
    theirs = tmp_path / "animate-bench-m21e48s8"
    theirs.mkdir()
    (theirs / "bot.log").write_text("kept")
    unmarked = tmp_path / "animate-scratch-unmarked"
    unmarked.mkdir()
    scratch = ScratchDir(tmp_path)
    scratch.path()
    assert (theirs / "bot.log").exists() and unmarked.exists()
    scratch.remove()
