"""The command line: `python -m bot [run | check | sync | backup PATH | health | ...]`.

Heavy imports (discord.py) happen inside the subcommands that need them, so
`--help` and the Docker HEALTHCHECK's `health` stay quick.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings

DESCRIPTION = "A Discord bot that turns a picture into a short video with a RunComfy model."
EPILOG = "Settings come from the environment or ./.env (see .env.example)."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION, epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default when no command is given)")
    commands.add_parser(
        "check",
        help="check settings, database, Discord token, guilds and permissions, and the model; "
        "exits 1 if a required check fails",
    )
    commands.add_parser(
        "sync",
        help="sync the slash commands to Discord now (globally, and to DISCORD_GUILD_IDS); "
        "a start syncs only the commands that changed",
    )
    backup = commands.add_parser(
        "backup", help="copy the database to PATH with SQLite's online backup (safe while running)"
    )
    backup.add_argument("path", type=Path, help="file to create; must not exist yet")
    health = commands.add_parser(
        "health",
        help="exit 0 if the running bot's heartbeat file is fresh and its writer still runs "
        "(Docker HEALTHCHECK)",
    )
    health.add_argument(
        "--max-age", type=float, default=None, help="seconds after which it is stale (60)"
    )
    migrate = commands.add_parser(
        "migrate-to-postgres",
        help="copy the SQLite database (DATABASE_PATH) into the empty PostgreSQL one "
        "(DATABASE_URL); stop the bot first",
    )
    migrate.add_argument(
        "--database-url",
        default=None,
        help="the PostgreSQL URL to copy into (default: DATABASE_URL)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in (None, "run"):
        from app.run import main as run_bot

        return run_bot()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print("✗ settings: " + str(exc).replace("\n", "\n  "))
        return 1
    if args.command == "check":
        return asyncio.run(check(settings))
    if args.command == "sync":
        return asyncio.run(sync(settings))
    if args.command == "backup":
        return backup(settings, args.path)
    if args.command == "migrate-to-postgres":
        return asyncio.run(migrate_to_postgres(settings, args.database_url))
    return health(settings, args.max_age)


async def check(settings: Settings) -> int:
    """Print one line per check; 0 only if every required check passed."""
    from app.probe import DiscordRestProbe
    from bot.check import passed, run_checks
    from bot.runcomfy import RunComfyClient, make_http_client

    http = make_http_client(
        settings.runcomfy_base_url, settings.runcomfy_api_token, settings.http_timeout_seconds
    )
    async with http, DiscordRestProbe(settings.discord_token.get_secret_value()) as probe:
        # Two attempts: a check reports a flaky service rather than waiting it out.
        runcomfy = RunComfyClient(http, max_attempts=2)
        checks = await run_checks(settings, discord=probe, runcomfy=runcomfy)
    for result in checks:
        print(result.line())
    ok = passed(checks)
    print("All required checks passed." if ok else "Some required checks failed: see ✗ above.")
    return 0 if ok else 1


async def sync(settings: Settings) -> int:
    """Log in over REST (no gateway), sync every scope and keep the hashes; 0 if all took."""
    import aiohttp
    import discord

    from app.assemble import commands_only
    from app.command_sync import Outcome
    from bot.models.registry import NoModel
    from bot.store import StoreUnavailable

    try:
        async with commands_only(settings) as bot:
            await bot.login(settings.discord_token.get_secret_value())
            done = await bot.sync_commands(force=True)
    except StoreUnavailable as exc:
        print(f"✗ database: {exc.reason} (DATABASE_PATH {exc.path})", file=sys.stderr)
        return 2
    except NoModel as exc:
        print(
            f"✗ no model in RUNCOMFY_MODEL_IDS can be used: {exc.describe()} "
            "(see python -m bot check)",
            file=sys.stderr,
        )
        return 2
    except discord.LoginFailure:
        print("✗ Discord refused DISCORD_TOKEN", file=sys.stderr)
        return 1
    except aiohttp.ClientConnectionError as exc:
        print(f"✗ Discord cannot be reached ({exc})", file=sys.stderr)
        return 1
    for scope in done:
        if scope.outcome is Outcome.SYNCED:
            print(f"✓ synced {scope.commands} commands {scope.scope}")
        else:
            print(
                f"✗ could not sync {scope.scope}: the bot is not in it, or was invited "
                "without the applications.commands scope"
            )
    return 0 if all(scope.outcome is Outcome.SYNCED for scope in done) else 1


def backup(settings: Settings, target: Path) -> int:
    from bot.store import postgres_url, sqlite_path

    if postgres_url(settings) is not None:
        print("✗ backup copies SQLite; back PostgreSQL up with pg_dump", file=sys.stderr)
        return 1
    source = sqlite_path(settings)
    if not source.is_file():
        print(f"✗ no database at {source} (DATABASE_PATH)", file=sys.stderr)
        return 1
    if target.exists():
        print(f"✗ {target} exists: choose a new file name", file=sys.stderr)
        return 1
    try:
        copy_through_a_partial_file(source, target)
    except (OSError, sqlite3.Error) as exc:
        print(f"✗ backup to {target} failed: {exc}", file=sys.stderr)
        return 1
    print(f"✓ backed up {source} to {target}")
    return 0


def copy_through_a_partial_file(source: Path, target: Path) -> None:
    from bot.store import sqlite

    target.parent.mkdir(parents=True, exist_ok=True)
    # Into a temporary file first: an interrupted backup never looks like a good one.
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".backup-", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        sqlite.backup(source, partial)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


async def migrate_to_postgres(settings: Settings, url: str | None) -> int:
    """Copy every table, in key order, into an empty PostgreSQL database; reset its ids."""
    from bot.store import (
        COPIED_TABLES,
        DatabaseInUse,
        JobStore,
        StoreUnavailable,
        is_postgres_url,
        only_process_on,
        postgres_url,
        sqlite_path,
    )

    url = url or postgres_url(settings)
    if url is None or not is_postgres_url(url):
        print("✗ give the PostgreSQL URL: DATABASE_URL or --database-url", file=sys.stderr)
        return 1
    source_path = sqlite_path(settings)
    if not source_path.is_file():
        print(f"✗ no SQLite database at {source_path} (DATABASE_PATH)", file=sys.stderr)
        return 1
    try:
        async with contextlib.AsyncExitStack() as stores:
            # A bot writing the file would make jobs the copy leaves behind.
            stores.enter_context(only_process_on(source_path))
            source = await stores.enter_async_context(await JobStore.open(source_path))
            target = await stores.enter_async_context(await JobStore.open(url))
            missing = set(await source.tables()) - set(COPIED_TABLES)
            if missing:
                print(f"✗ tables this command does not know: {sorted(missing)}", file=sys.stderr)
                return 1
            if not await target.is_empty():
                print("✗ the PostgreSQL database already has rows: nothing copied", file=sys.stderr)
                return 1
            tables = {table: await source.export_rows(table) for table in COPIED_TABLES}
            await target.import_tables(tables)
    except DatabaseInUse:
        print(
            f"✗ a bot is running on {source_path}: stop it first, or the videos it starts "
            "after the copy are left behind",
            file=sys.stderr,
        )
        return 1
    except StoreUnavailable as exc:  # its reason never quotes the URL
        print(f"✗ {exc.setting}: {exc.reason}", file=sys.stderr)
        return 1
    for table, (_, rows) in tables.items():
        print(f"✓ {table}: {len(rows)} rows")
    # Never print the URL: it may carry a password.
    print(f"✓ copied {source_path} into PostgreSQL; point DATABASE_URL at it and start the bot")
    return 0


def health(settings: Settings, max_age: float | None) -> int:
    from bot.health import STALE_AFTER_SECONDS, heartbeat_problem

    if settings.heartbeat_path is None:
        print("✗ HEARTBEAT_PATH is not set, so the bot writes no heartbeat", file=sys.stderr)
        return 1
    limit = STALE_AFTER_SECONDS if max_age is None else max_age
    problem = heartbeat_problem(settings.heartbeat_path, max_age=limit)
    if problem is not None:
        print(f"✗ {problem}", file=sys.stderr)
        return 1
    print("✓ the bot is connected and its event loop is alive")
    return 0
