"""Running the bot as a process: signals, start-up failures in one line, the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord

from app.assemble import assemble
from app.client import AnimateBot
from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging
from bot.models.registry import NoModel
from bot.store import DatabaseInUse, NewerDatabase, ProcessClash, StoreUnavailable

log = logging.getLogger(__name__)

# SIGHUP too: the terminal went away; Python's default would end the bot mid-send.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# They mean nothing to the bot; Python's default would end it without a word.
IGNORED_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


class DiscordUnreachable(Exception):
    """Logging in failed before Discord answered (DNS, refused or reset connection)."""


class GatewayUnreachable(Exception):
    """Logged in, but Discord's gateway could not be reached to connect (Discord went away)."""


@contextlib.asynccontextmanager
async def stop_on_signals(
    bot: AnimateBot, connection: asyncio.Task[None] | None = None
) -> AsyncIterator[None]:
    """SIGTERM (docker stop, systemd), SIGINT (Ctrl-C) and SIGHUP stop the bot gracefully.

    Real handlers, not Python's defaults: as PID 1 in a container the kernel drops
    every signal that has none. A second signal while stopping is logged and ignored:
    the stop is bounded (8 s, then closing) and must not end in a traceback.
    Once the bot is closed, `connection` (its login and gateway connection) is cancelled:
    closing alone does not end a login Discord never answers, nor discord.py's wait
    before its next reconnect (minutes, after a long outage).
    """
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    async def stop(reason: str) -> None:
        await bot.stop_gracefully(reason)
        if connection is not None:
            connection.cancel()

    def on_signal(sig: signal.Signals) -> None:
        if stopping:
            log.warning("Received %s again while stopping; ignored, exiting shortly", sig.name)
            return
        stopping.append(loop.create_task(stop(f"Received {sig.name}"), name="graceful-stop"))

    def on_ignored_signal(sig: signal.Signals) -> None:
        log.warning("Received %s; ignored (SIGTERM or SIGINT stop the bot)", sig.name)

    for sig in STOP_SIGNALS:
        # Not on Windows event loops: there Ctrl-C stays Python's KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal, sig)
    for sig in IGNORED_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_ignored_signal, sig)
    try:
        yield
    finally:
        # Handlers stay until the loop closes: a late signal is ignored, not fatal.
        if stopping:
            await stopping[0]


async def connect_to_discord(bot: AnimateBot, token: str) -> None:
    """Log in, then stay connected to the gateway until the bot is closed.

    A connection that fails because a stop closed the bot under it is no failure.
    """
    try:
        await bot.login(token)
    except aiohttp.ClientConnectionError as exc:
        if bot.stopping:
            return
        raise DiscordUnreachable(str(exc)) from None
    if bot.stopping:  # a signal during the login already closed the bot
        return
    try:
        await bot.connect()
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        # Raised only before the first connection: past it, discord.py reconnects itself.
        if bot.stopping:
            return
        raise GatewayUnreachable(str(exc) or type(exc).__name__) from None


async def run(settings: Settings, **bot_options: Any) -> None:
    token = settings.discord_token.get_secret_value()
    async with assemble(settings, **bot_options) as bot:
        connection = asyncio.create_task(connect_to_discord(bot, token), name="discord")
        try:
            async with stop_on_signals(bot, connection):
                await asyncio.wait([connection])
        finally:
            connection.cancel()  # when `run` itself is cancelled
        if not connection.cancelled():  # cancelled: by a stop, which is no failure
            connection.result()


def main(**bot_options: Any) -> int:
    """Run the bot until it is stopped; the process exit code.

    Every failure to start is one or two log lines naming the cause, never a traceback.
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings, **bot_options))
    except NewerDatabase as exc:
        log.error("The bot cannot start: %s.", exc.reason)
        return 2
    except DatabaseInUse as exc:
        log.error(
            "The bot cannot start: %s (DATABASE_PATH) is used by another bot process. SQLite "
            "serves one process: stop the other first, or move both to PostgreSQL "
            "(DATABASE_URL).",
            exc.path,
        )
        return 2
    except ProcessClash as exc:
        log.error("The bot cannot start: %s (docs/postgresql.md).", exc.reason)
        return 2
    except StoreUnavailable as exc:
        if exc.path is not None:
            log.error(
                "The bot cannot start: invalid DATABASE_PATH %s: %s. Point DATABASE_PATH at a "
                "file in a folder the bot can write.",
                exc.path,
                exc.reason,
            )
        else:  # never the URL itself: it may hold a password
            log.error(
                "The bot cannot start: the database of DATABASE_URL cannot be used: %s. "
                "Check DATABASE_URL and that the server is up and accepts this host.",
                exc.reason,
            )
        return 2
    except NoModel as exc:
        log.error(
            "The bot cannot start: no model in RUNCOMFY_MODEL_IDS can be used (%s). Check the "
            "ids with `python -m bot check`.",
            exc.describe(),
        )
        return 2
    except discord.LoginFailure:
        log.error(
            "The bot cannot start: Discord refused DISCORD_TOKEN. Check it in the developer "
            "portal (Bot, Reset Token)."
        )
        return 1
    except DiscordUnreachable as exc:
        log.error(
            "The bot cannot start: Discord cannot be reached (%s). Check the network and DNS.",
            exc,
        )
        return 1
    except GatewayUnreachable as exc:
        log.error(
            "The bot cannot start: it logged in, but Discord's gateway cannot be reached (%s). "
            "Check the network, and Discord's status page.",
            exc,
        )
        return 1
    except KeyboardInterrupt:
        pass  # Ctrl-C before the stop handlers were installed: nothing to finish
    return 0
