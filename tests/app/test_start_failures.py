"""Start-up failures of the bot process at its edges: one readable line, no traceback.

The bot runs as a process against the loopback fakes, as an operator meets it
(the other start-up failures are in tests/bot/test_config.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import LATEST_MIGRATION
from tests.app.conftest import DiscordWithOutages
from tests.bot.test_config import assert_readable, bot_command
from tests.fakes.runcomfy import FakeRunComfy

CHILD_SECONDS = 60  # a cold interpreter importing discord.py on a loaded machine


async def run_to_its_end(
    tmp_path: Path, discord_url: str, runcomfy_url: str, **env: str
) -> tuple[int, str]:
    """Run the bot until it ends by itself; its exit code and everything it printed."""
    command = bot_command(tmp_path, discord_url, {"RUNCOMFY_BASE_URL": runcomfy_url, **env})
    proc = await asyncio.create_subprocess_exec(
        *command["args"],
        cwd=command["cwd"],
        env=command["env"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), CHILD_SECONDS)
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_discord_gone_between_the_login_and_the_gateway_stops_the_start_readably(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_with_outages
    fake.gateway_gone = True  # the login is answered; the gateway hangs up

    code, output = await run_to_its_end(tmp_path, fake.base_url, runcomfy_fake.base_url)

    assert_readable(code, output, "Discord", "gateway")
    assert code == 1  # as when Discord cannot be reached at all: the restart policy retries
    assert fake.count("GET", "/users/@me") == 1  # it did log in


# -- a PostgreSQL that is up, but does not take connections yet (issue 27 #22) ---------

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


def error_response(sqlstate: str, message: str) -> bytes:
    fields = f"SFATAL\0VFATAL\0C{sqlstate}\0M{message}\0\0".encode()
    return b"E" + (len(fields) + 4).to_bytes(4, "big") + fields


async def starting_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """PostgreSQL's answer to any client while it starts or recovers (SQLSTATE 57P03)."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            length = int.from_bytes(await reader.readexactly(4), "big")
            request = int.from_bytes((await reader.readexactly(length - 4))[:4], "big")
            if request not in (SSL_REQUEST, GSSENC_REQUEST):
                break  # the startup message
            writer.write(b"N")  # no encryption; the client goes on in the clear
        writer.write(error_response("57P03", "the database system is starting up"))
        await writer.drain()
    writer.close()


@pytest.fixture
async def postgres_starting_up() -> AsyncIterator[str]:
    """The URL of a loopback PostgreSQL that answers every connection "starting up"."""
    server = await asyncio.start_server(starting_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"postgresql://animate:secret-password@127.0.0.1:{port}/animate"


async def test_a_postgresql_still_starting_up_stops_the_start_readably(
    discord_with_outages: DiscordWithOutages,
    runcomfy_fake: FakeRunComfy,
    postgres_starting_up: str,
    tmp_path: Path,
) -> None:
    """A bot that starts before its database (a reboot restarts both at once) says so."""
    code, output = await run_to_its_end(
        tmp_path,
        discord_with_outages.base_url,
        runcomfy_fake.base_url,
        DATABASE_URL=postgres_starting_up,
    )

    # The store may name the cause in its own words (merged with issue 27 #13's work).
    assert_readable(code, output, "PostgreSQL")
    assert code == 2  # as every other setting or database the bot cannot use
    assert "secret-password" not in output
    assert discord_with_outages.count("GET", "/users/@me") == 0  # it stopped before Discord


async def test_a_database_migrated_by_a_newer_bot_stops_the_start_readably(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    database = tmp_path / "data" / "bot.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as db:
        db.execute(f"PRAGMA user_version = {LATEST_MIGRATION + 1}")

    code, output = await run_to_its_end(
        tmp_path, discord_with_outages.base_url, runcomfy_fake.base_url
    )

    assert_readable(code, output, f"version {LATEST_MIGRATION + 1}", "newer bot")
    assert code == 2  # a restart cannot help: the restart policy should give up
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (LATEST_MIGRATION + 1,)
