"""Start-up failures: one or two readable lines naming the variable, no traceback.

The settings rules are checked in-process; every start-up failure is then checked the
way an operator meets it, by running the bot as a process and reading what it prints.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.config import SettingsError, load_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN, RUNCOMFY_TOKEN
from tests.fakes.runcomfy import FakeRunComfy
from tests.stores import server_url

REPO = Path(__file__).resolve().parents[2]
TOKENS = {"discord_token": DISCORD_TOKEN, "runcomfy_api_token": RUNCOMFY_TOKEN}


def settings_error(**values: object) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, **values)
    return str(caught.value)


def test_poll_min_above_poll_max_is_invalid_and_names_both() -> None:
    text = settings_error(**TOKENS, poll_min_seconds=20, poll_max_seconds=15)
    assert "POLL_MIN_SECONDS" in text and "POLL_MAX_SECONDS" in text
    assert "invalid" in text.splitlines()[0] and "missing" not in text
    assert load_settings(_env_file=None, **TOKENS, poll_min_seconds=15, poll_max_seconds=15)


def test_an_unknown_log_level_is_invalid() -> None:
    text = settings_error(**TOKENS, log_level="LOUD")
    assert "LOG_LEVEL" in text and "DEBUG" in text and "invalid" in text
    assert load_settings(_env_file=None, **TOKENS, log_level="debug").log_level == "DEBUG"


def test_malformed_guild_ids_say_what_is_expected() -> None:
    for value in ("123,abc", "12;34", "-5"):
        text = settings_error(**TOKENS, discord_guild_ids=value)
        assert "DISCORD_GUILD_IDS" in text, value
        assert "comma-separated numeric server ids" in text, value
    parsed = load_settings(_env_file=None, **TOKENS, discord_guild_ids=" 1, 2 ,")
    assert parsed.discord_guild_ids == [1, 2]


def test_the_header_says_missing_or_invalid_as_the_case_is() -> None:
    missing = settings_error()
    assert "missing" in missing.splitlines()[0] and "invalid" not in missing
    assert "DISCORD_TOKEN" in missing and "RUNCOMFY_API_TOKEN" in missing
    invalid = settings_error(**TOKENS, quota_user_daily="many")
    assert "invalid" in invalid.splitlines()[0] and "missing" not in invalid
    both = settings_error(discord_token=DISCORD_TOKEN, quota_user_daily="many")
    assert "missing" in both and "invalid" in both
    for text in (missing, invalid, both):
        assert len(text.splitlines()) <= 2, text


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://animate:s3cret-Canary@db/animate",
        "mysql://animate:s3cret-Canary@db/animate",
        "sqlite+aiosqlite:///s3cret-Canary.db",
        "/data/s3cret-Canary.db",  # a path belongs in DATABASE_PATH
    ],
)
def test_a_database_url_of_another_scheme_is_invalid_and_never_echoed(url: str) -> None:
    text = settings_error(**TOKENS, database_url=url)
    assert "DATABASE_URL" in text and "invalid" in text.splitlines()[0]
    assert "sqlite:" in text and "postgresql:" in text
    assert "s3cret-Canary" not in text and "animate" not in text


@pytest.mark.parametrize(
    "url",
    ["sqlite:///data/bot.db", "SQLite:///data/bot.db", "postgresql://db/a", "POSTGRES://db/a"],
)
def test_a_database_url_names_sqlite_or_postgres_in_any_case(url: str) -> None:
    settings = load_settings(_env_file=None, **TOKENS, database_url=url)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_command(tmp_path: Path, discord_url: str | None, env: dict[str, str]) -> dict[str, Any]:
    """How to run the bot's `main()` as a process.

    Discord and RunComfy point at a closed loopback port unless told otherwise, so a
    check that wrongly passes can never reach the internet.
    """
    dead = f"http://127.0.0.1:{closed_port()}"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "RUNCOMFY_API_TOKEN": RUNCOMFY_TOKEN,
        "RUNCOMFY_BASE_URL": dead,
        "DATABASE_PATH": str(tmp_path / "data" / "bot.db"),
        # Only what an operator must act on; INFO lines of a normal start are not errors.
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return {
        "args": [sys.executable, "-m", "tests.fakes.run_bot", "--discord-url", discord_url or dead],
        "cwd": tmp_path,  # no .env there
        "env": environment,
    }


def start_bot(tmp_path: Path, *, discord_url: str | None = None, **env: str) -> tuple[int, str]:
    """Run the bot to its end; its exit code and everything it printed."""
    command = bot_command(tmp_path, discord_url, env)
    result = subprocess.run(
        command["args"],
        cwd=command["cwd"],
        env=command["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


async def start_bot_async(
    tmp_path: Path, *, discord_url: str | None = None, **env: str
) -> tuple[int, str]:
    """`start_bot` without blocking the event loop (a loopback fake serves the bot)."""
    command = bot_command(tmp_path, discord_url, env)
    proc = await asyncio.create_subprocess_exec(
        *command["args"],
        cwd=command["cwd"],
        env=command["env"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, output.decode()


def assert_readable(code: int, output: str, *needles: str) -> None:
    assert code != 0, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, output
    assert DISCORD_TOKEN not in output and RUNCOMFY_TOKEN not in output


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("POLL_MIN_SECONDS", "30", "POLL_MAX_SECONDS"),
        ("DISCORD_GUILD_IDS", "123,my-server", "comma-separated numeric server ids"),
        ("RUNCOMFY_CONNECTIONS", "0", "greater than or equal to 1"),
        # Each of these started the bot, then failed later with a traceback (or hung).
        ("RUNCOMFY_REQUESTS_PER_SECOND", "inf", "finite"),
        ("HTTP_TIMEOUT_SECONDS", "1e999", "finite"),
        ("DEFAULT_ETA_SECONDS", "infinity", "finite"),
        ("RUNCOMFY_REQUESTS_PER_SECOND", "1e-300", "greater than or equal to 1"),
        ("QUOTA_USER_DAILY", "99999999999999999999", "less than or equal to"),
        ("QUOTA_GLOBAL_CONCURRENT", "99999999999999999999", "less than or equal to"),
        ("RUNCOMFY_BASE_URL", "model-api.runcomfy.net", "http"),
        ("RUNCOMFY_BASE_URL", "0x10", "http"),
        ("RUNCOMFY_API_TOKEN", "abc\u00b2def", "no token has"),
        ("RUNCOMFY_API_TOKEN", "abc\u200bdef", "no token has"),
        ("RUNCOMFY_API_TOKEN", "   ", "blank"),
        ("DISCORD_TOKEN", "two words", "no token has"),
    ],
)
def test_an_invalid_setting_stops_the_start_readably(
    tmp_path: Path, variable: str, value: str, needle: str
) -> None:
    code, output = start_bot(tmp_path, **{variable: value})
    assert_readable(code, output, variable, needle, "invalid")


def _a_file_as_parent(tmp_path: Path) -> Path:
    (tmp_path / "plain-file").write_text("not a folder")
    return tmp_path / "plain-file" / "sub" / "bot.db"


def _a_folder(tmp_path: Path) -> Path:
    (tmp_path / "folder.db").mkdir()
    return tmp_path / "folder.db"


def _a_corrupt_file(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not an SQLite database, just bytes " * 100)
    return path


def _a_read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        # root writes through file modes; sysfs refuses new files even to root.
        return Path("/sys/animate-bot.db")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "bot.db"


@pytest.mark.parametrize(
    "make_path", [_a_file_as_parent, _a_folder, _a_corrupt_file, _a_read_only_folder]
)
def test_an_unusable_database_path_stops_the_start_readably(tmp_path: Path, make_path) -> None:  # type: ignore[no-untyped-def]
    path = make_path(tmp_path)
    code, output = start_bot(tmp_path, DATABASE_PATH=str(path))
    assert_readable(code, output, "DATABASE_PATH", str(path))


async def test_discord_unreachable_stops_the_start_readably(
    tmp_path: Path, runcomfy_fake: FakeRunComfy
) -> None:
    # RunComfy answers (the models are read before Discord is); Discord does not.
    code, output = await start_bot_async(tmp_path, RUNCOMFY_BASE_URL=runcomfy_fake.base_url)
    assert_readable(code, output, "Discord")
    assert "reach" in output
    assert (tmp_path / "data" / "bot.db").exists()  # it got as far as the database


async def test_a_refused_token_stops_the_start_readably(
    tmp_path: Path, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.bot_token = "the-token-the-portal-shows"
    code, output = await start_bot_async(
        tmp_path, discord_url=discord_fake.base_url, RUNCOMFY_BASE_URL=runcomfy_fake.base_url
    )
    assert_readable(code, output, "DISCORD_TOKEN", "refused")
    assert discord_fake.count("GET", "/users/@me") == 1  # it did ask Discord


def test_a_database_url_of_another_scheme_stops_the_start_without_a_local_file(
    tmp_path: Path,
) -> None:
    url = "postgresql+asyncpg://animate:s3cret-Canary@127.0.0.1:5432/animate"
    code, output = start_bot(tmp_path, DATABASE_URL=url)
    assert_readable(code, output, "DATABASE_URL", "invalid")
    assert code == 2 and "s3cret-Canary" not in output
    assert not (tmp_path / "data").exists()  # never a silent SQLite file instead


def test_an_unreachable_postgres_stops_the_start_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql://animate:s3cret-Canary@127.0.0.1:{closed_port()}/animate"
    code, output = start_bot(tmp_path, DATABASE_URL=url)
    assert_readable(code, output, "DATABASE_URL", "cannot be reached")
    assert code == 2 and "s3cret-Canary" not in output and url not in output


def test_a_postgres_refusing_the_user_stops_the_start_in_one_line(tmp_path: Path) -> None:
    server = urlsplit(server_url())
    refused = server._replace(netloc=f"nobody_here:s3cret-Canary@{server.hostname}:{server.port}")
    url = urlunsplit(refused)
    code, output = start_bot(tmp_path, DATABASE_URL=url)
    assert_readable(code, output, "DATABASE_URL", "refused")
    assert code == 2 and "s3cret-Canary" not in output and url not in output


def test_the_models_are_a_comma_separated_list_or_one_id() -> None:
    first, second = "bytedance/seedance-v1.5-pro/image-to-video", "vendor/next/image-to-video"
    listed = load_settings(_env_file=None, **TOKENS, runcomfy_model_ids=f" {second} ,{first},")
    assert listed.model_ids == (second, first)  # the first is the default
    alone = load_settings(_env_file=None, **TOKENS, runcomfy_model_id=second)
    assert alone.model_ids == (second,)
    neither = load_settings(_env_file=None, **TOKENS)
    assert neither.model_ids == (first,)
    text = settings_error(**TOKENS, runcomfy_model_ids=f"{first},not a model")
    assert "RUNCOMFY_MODEL_IDS" in text and "not a model" not in text


def test_a_model_list_of_only_commas_is_refused_not_taken_for_the_default() -> None:
    # Blank means "the default model"; commas alone are a list that lost its ids.
    assert load_settings(_env_file=None, **TOKENS, runcomfy_model_ids=" ").model_ids == (
        "bytedance/seedance-v1.5-pro/image-to-video",
    )
    text = settings_error(**TOKENS, runcomfy_model_ids=" , ,")
    assert "RUNCOMFY_MODEL_IDS" in text and "model ids" in text
