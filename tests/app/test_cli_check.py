"""`python -m bot check`: what a setup lacks, named, with exit code 1; nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from app import cli
from bot.check import ADMINISTRATOR, REQUIRED_PERMISSIONS, GuildFacts, guild_permissions
from bot.config import Settings
from bot.store import LATEST_MIGRATION, JobStore
from tests.app.cli_helpers import check_in_process, line_of, run_child
from tests.fakes.discord import ATTACH_FILES, EMBED_LINKS, FakeDiscord
from tests.fakes.harness import DISCORD_TOKEN
from tests.fakes.process import settings_env
from tests.fakes.runcomfy import FakeRunComfy


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
