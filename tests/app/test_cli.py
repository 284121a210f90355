"""`python -m bot` and its subcommands, against the loopback fakes.

End to end in a child process where the exit code is the point (`--help`, `check`
healthy and misconfigured, `backup` while the bot's connection writes); in-process
for the other `check` failures, through the same `check()` the command runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app import cli
from bot.check import ADMINISTRATOR, REQUIRED_PERMISSIONS, GuildFacts, guild_permissions
from bot.config import Settings
from bot.domain import ImageFacts, Job
from bot.health import STALE_AFTER_SECONDS, beat
from bot.store import LATEST_MIGRATION, JobStore
from tests.bot.test_metrics import free_port
from tests.fakes.discord import ATTACH_FILES, EMBED_LINKS, FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN, BotRunner, pointed_at
from tests.fakes.process import REPO, settings_env
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import job_fields
from tests.stores import schema_version

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


# -- --help -------------------------------------------------------------------


async def test_help_lists_the_subcommands_and_starts_nothing(tmp_path: Path) -> None:
    # No settings at all: --help must not need them, nor create a database.
    code, out, err = await run_child("--help", cwd=tmp_path)
    assert code == 0, err
    for command in ("run", "check", "backup", "health"):
        assert f"    {command} " in out
    assert list(tmp_path.iterdir()) == []


# -- run ------------------------------------------------------------------------


async def test_python_m_bot_runs_the_bot_until_ctrl_c(
    settings: Settings, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    """No subcommand runs the bot, as before: it connects, beats, serves metrics, stops."""
    heartbeat, port = tmp_path / "heartbeat", free_port()
    env = settings_env(
        settings.model_copy(update={"heartbeat_path": heartbeat, "metrics_port": port})
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.run_cli",
        "--discord-url",
        discord_fake.base_url,
        cwd=str(tmp_path),
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(discord_fake.identified.wait(), CHILD_SECONDS)
        await discord_fake.wait_for(heartbeat.exists, within=10)
        async with httpx.AsyncClient() as http:
            scraped = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert "animate_live_trackers" in scraped.text
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), CHILD_SECONDS)
        await discord_fake.drop_gateway()
    assert proc.returncode == 0, err.decode()
    assert not heartbeat.exists()


# -- check ----------------------------------------------------------------------


async def test_check_passes_against_a_healthy_setup_and_changes_nothing(
    settings: Settings, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    discord_fake.token = DISCORD_TOKEN
    code, out, err = await run_child(
        "check", env=settings_env(settings), cwd=tmp_path, discord_url=discord_fake.base_url
    )
    lines = out.splitlines()
    assert code == 0, out + err
    assert line_of(lines, "✓ settings")
    assert "will be created at start" in line_of(lines, "✓ database")
    assert "logged in as animate-bot" in line_of(lines, "✓ discord login")
    assert "every permission" in line_of(lines, f"✓ guild Fake Guild ({discord_fake.guild_id})")
    optional = f"✓ guild Fake Guild ({discord_fake.guild_id}) (optional)"
    assert "Manage Messages: yes" in line_of(lines, optional)
    model = line_of(lines, "✓ model bytedance/seedance-v1.5-pro/image-to-video")
    # What the bot read from the model's schema, and a default video's price ($0.024/s).
    assert "Seedance v1.5 pro" in model and "`first_frame_image_url`" in model
    assert "resolution (480p, 720p, 1080p)" in model and "duration (4, 5, 6" in model
    assert "≈ $0.24" in model
    assert not any(line.startswith("✗") for line in lines)
    # Read, never written: the database the bot would create does not exist yet.
    assert not settings.database_path.exists()
    assert DISCORD_TOKEN not in out + err


async def test_check_against_a_misconfigured_setup_prints_the_failures_and_exits_1(
    settings: Settings, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    discord_fake.token = DISCORD_TOKEN
    wrong = settings.model_copy(
        update={
            "discord_token": SecretStr("not-the-token"),
            "runcomfy_model_id": "bytedance/seedance-v0/retired",
        }
    )
    code, out, err = await run_child(
        "check", env=settings_env(wrong), cwd=tmp_path, discord_url=discord_fake.base_url
    )
    lines = out.splitlines()
    assert code == 1, out + err
    assert "refused DISCORD_TOKEN" in line_of(lines, "✗ discord login")
    assert "Reset Token" in line_of(lines, "✗ discord login")
    model = line_of(lines, "✗ model bytedance/seedance-v0/retired")
    assert "does not offer it" in model
    assert "RUNCOMFY_MODEL_IDS" in model
    assert line_of(lines, "✓ database")  # what is fine is still said
    assert "not-the-token" not in out + err


async def test_check_without_settings_names_the_missing_ones_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DISCORD_TOKEN", "RUNCOMFY_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("✗ settings") and "DISCORD_TOKEN, RUNCOMFY_API_TOKEN" in out


async def test_check_refuses_a_database_url_of_another_scheme(
    settings: Settings, tmp_path: Path
) -> None:
    url = "postgresql+asyncpg://animate:s3cret-Canary@127.0.0.1:5432/animate"
    env = {**settings_env(settings), "DATABASE_URL": url}
    code, out, err = await run_child("check", env=env, cwd=tmp_path)
    assert code == 1, out + err
    settings_line = line_of(out.splitlines(), "✗ settings")
    assert "DATABASE_URL" in settings_line and "postgresql:" in settings_line
    assert "s3cret-Canary" not in out + err
    assert not settings.database_path.exists()  # no SQLite file instead


async def test_check_a_guild_the_bot_is_not_in(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = 4242
    settings = settings.model_copy(update={"discord_guild_ids": [discord_fake.guild_id, elsewhere]})
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    assert "not in this guild" in line_of(lines, f"✗ guild {elsewhere}")
    assert line_of(lines, "✓ guild Fake Guild")


async def test_check_missing_permissions_are_named(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    discord_fake.bot_denied_permissions = EMBED_LINKS | ATTACH_FILES
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    guild = line_of(lines, "✗ guild Fake Guild")
    assert "missing Embed Links, Attach Files" in guild and "Roles" in guild
    for name in set(REQUIRED_PERMISSIONS) - {"Embed Links", "Attach Files"}:
        assert name not in guild


async def test_check_optional_manage_messages_warns_but_passes(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    discord_fake.bot_can_manage_messages = False
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 0
    assert "Manage Messages: no" in line_of(lines, f"! guild Fake Guild ({discord_fake.guild_id})")
    assert line_of(lines, "✓ guild Fake Guild")


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
async def test_check_an_unwritable_database(
    settings: Settings,
    discord_fake: FakeDiscord,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: str,
) -> None:
    # Both fail for root too (tests may run as root, whom permission bits do not stop).
    (tmp_path / "not-a-folder").write_text("")
    path = {
        "under a file": tmp_path / "not-a-folder" / "bot.db",
        "in /proc": Path("/proc/animate-bot/bot.db"),
    }[where]
    settings = settings.model_copy(update={"database_path": path})
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    database = line_of(lines, "✗ database")
    assert "cannot be created" in database and "DATABASE_PATH" in database


async def test_check_an_existing_database_reports_its_migration_without_migrating(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    async with await JobStore.open(settings.database_path):
        pass
    before = settings.database_path.stat().st_mtime_ns
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 0
    assert f"at migration {LATEST_MIGRATION} (the latest)" in line_of(lines, "✓ database")
    assert settings.database_path.stat().st_mtime_ns == before


async def test_check_a_file_that_is_not_a_database(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.database_path.write_bytes(b"this is not SQLite" * 100)
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    assert "cannot be opened" in line_of(lines, "✗ database")


async def test_check_a_bad_runcomfy_token(
    settings: Settings, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings.model_copy(update={"runcomfy_api_token": SecretStr("revoked")})
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    assert "refused RUNCOMFY_API_TOKEN" in line_of(lines, "✗ model")


async def test_check_a_retired_model(
    settings: Settings,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runcomfy_fake.model_retired = True
    code, lines = await check_in_process(settings, discord_fake, capsys)
    assert code == 1
    assert "retired or misspelt" in line_of(lines, "✗ model")


# -- backup -----------------------------------------------------------------------


def a_job(user_id: int) -> Job:
    return Job(
        user_id=user_id,
        guild_id=1,
        channel_id=2,
        prompt="a backup survives",
        **job_fields(),
        image=ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000),
        created_at=time.time(),
    )


async def test_backup_while_the_bot_writes_copies_everything_committed(
    settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "backups" / "bot-copy.db"
    env = settings_env(settings)
    async with await JobStore.open(settings.database_path) as live:
        # The bot's connection stays open and its last writes sit in the WAL file.
        jobs = [await live.create(a_job(user_id)) for user_id in range(1, 51)]
        assert Path(f"{settings.database_path}-wal").stat().st_size > 0
        code, out, err = await run_child("backup", str(target), env=env, cwd=tmp_path)
        assert code == 0, out + err
        assert "✓ backed up" in out
        await live.create(a_job(99))  # the bot goes on writing after the copy

        code, _, err = await run_child("backup", str(target), env=env, cwd=tmp_path)
        assert code == 1 and "exists" in err  # never overwrites a backup

    async with await JobStore.open(target) as copy:
        assert await schema_version(copy) == LATEST_MIGRATION
        for job in jobs:
            assert job.id is not None
            restored = await copy.get(job.id)
            assert restored is not None and restored.prompt == "a backup survives"
        assert await copy.list_for_user(99) == []
    assert [p.name for p in target.parent.iterdir()] == ["bot-copy.db"]  # no temp file left


async def test_backup_without_a_database_says_so(settings: Settings, tmp_path: Path) -> None:
    code, _, err = await run_child(
        "backup", str(tmp_path / "copy.db"), env=settings_env(settings), cwd=tmp_path
    )
    assert code == 1 and "no database" in err
    assert not (tmp_path / "copy.db").exists()


# -- health -----------------------------------------------------------------------


def env_for(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)


async def test_health_follows_the_heartbeat_of_the_running_bot(
    runner: BotRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    heartbeat = tmp_path / "run" / "heartbeat"
    env_for(runner.settings.model_copy(update={"heartbeat_path": heartbeat}), monkeypatch, tmp_path)
    assert cli.main(["health"]) == 1  # not started yet
    assert "no heartbeat" in capsys.readouterr().err

    await runner.start(heartbeat_path=heartbeat)
    await runner.discord_fake.wait_for(heartbeat.exists, within=5)
    assert cli.main(["health"]) == 0
    assert "✓" in capsys.readouterr().out

    await runner.stop()
    assert not heartbeat.exists()  # a stopped bot is unhealthy at once
    assert cli.main(["health"]) == 1


async def test_health_says_unhealthy_when_the_heartbeat_is_stale(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    heartbeat = tmp_path / "heartbeat"
    env_for(settings.model_copy(update={"heartbeat_path": heartbeat}), monkeypatch, tmp_path)
    beat(heartbeat)  # as the bot writes it, naming this (running) process
    assert cli.main(["health"]) == 0
    old = time.time() - STALE_AFTER_SECONDS - 5
    os.utime(heartbeat, (old, old))
    assert cli.main(["health"]) == 1
    assert "stuck" in capsys.readouterr().err
    assert cli.main(["health", "--max-age", str(STALE_AFTER_SECONDS + 60)]) == 0


async def test_health_without_heartbeat_path_is_unhealthy(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(settings, monkeypatch, tmp_path)
    monkeypatch.delenv("HEARTBEAT_PATH", raising=False)
    assert cli.main(["health"]) == 1
    assert "HEARTBEAT_PATH is not set" in capsys.readouterr().err


# -- the image's settings ------------------------------------------------------------


def docker_env_file(path: Path) -> dict[str, str]:
    """What `docker run --env-file` makes of a file: KEY=VALUE lines, `#` comments skipped."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def image_env(name: str) -> str:
    """The value the Dockerfile's ENV gives `name`."""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        line = line.strip().removeprefix("ENV ").rstrip("\\").strip()
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"the Dockerfile sets no {name}")


def test_env_example_in_the_image_keeps_the_images_database_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`docker run --env-file .env` (copied from .env.example) must not undo the image's ENV."""
    image = {name: image_env(name) for name in ("DATABASE_PATH", "HEARTBEAT_PATH", "METRICS_HOST")}
    assert image["DATABASE_PATH"].startswith("/data/")  # the VOLUME
    monkeypatch.chdir(tmp_path)
    for name, value in {**image, **docker_env_file(REPO / ".env.example")}.items():
        monkeypatch.setenv(name, value)
    values: dict[str, Any] = {"discord_token": "x", "runcomfy_api_token": "y"}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert settings.database_path == Path(image["DATABASE_PATH"])
    assert settings.heartbeat_path == Path(image["HEARTBEAT_PATH"])
    assert settings.metrics_host == image["METRICS_HOST"] == "0.0.0.0"


def test_guild_permissions_as_discord_computes_them() -> None:
    send, attach = REQUIRED_PERMISSIONS["Send Messages"], REQUIRED_PERMISSIONS["Attach Files"]
    guild, bot_id, role = 10, 20, 30
    facts = GuildFacts(
        guild_id=guild,
        name="g",
        owner_id=1,
        role_permissions={guild: send, role: attach, 40: ADMINISTRATOR},
        member_roles=[role],
    )
    # @everyone's bits and the member's roles add up; a role it lacks does not count.
    assert guild_permissions(facts, bot_id) == send | attach
    admin = facts.model_copy(update={"member_roles": [40]})
    assert guild_permissions(admin, bot_id) & REQUIRED_PERMISSIONS["Embed Links"]
    owner = facts.model_copy(update={"owner_id": bot_id, "member_roles": []})
    assert all(guild_permissions(owner, bot_id) & bit for bit in REQUIRED_PERMISSIONS.values())
