"""HEARTBEAT_PATH pointed at the database (a careless copy of DATABASE_PATH's line).

The heartbeat replaces its file every 2 s and removes it at a stop: on the database,
or one of SQLite's files beside it, that threw away every job, quota and setting.
Such a setting now stops the start, naming both variables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import load_settings
from tests.bot.test_config import TOKENS, assert_readable, settings_error, start_bot


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal", ".lock"])
def test_a_heartbeat_on_the_database_or_its_companions_is_invalid(
    tmp_path: Path, suffix: str
) -> None:
    database = tmp_path / "data" / "bot.db"
    text = settings_error(
        **TOKENS, database_path=database, heartbeat_path=Path(f"{database}{suffix}")
    )
    assert "HEARTBEAT_PATH" in text and "DATABASE_PATH" in text


def test_the_same_file_spelled_otherwise_is_caught_and_a_neighbour_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "data" / "bot.db"
    text = settings_error(**TOKENS, database_path=database, heartbeat_path=Path("data/bot.db"))
    assert "HEARTBEAT_PATH" in text
    fine = dict(database_path=database, heartbeat_path=tmp_path / "data" / "beat")
    assert load_settings(_env_file=None, **TOKENS, **fine).heartbeat_path


def test_the_bot_refuses_to_start_and_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE kept (x)")
    code, output = start_bot(tmp_path, DATABASE_PATH=str(database), HEARTBEAT_PATH=str(database))
    assert_readable(code, output, "HEARTBEAT_PATH", "DATABASE_PATH")
    assert code == 2
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)]
