"""Run the real bot in its own process against a loopback fake Discord.

For crash tests (SIGKILL) and benchmarks (the bot's own CPU and memory).
The bot reads its settings from the environment as usual; only Discord's
addresses are redirected, as in-process tests do.

    python -m tests.fakes.run_bot --discord-url http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import sys

import discord.gateway
import discord.http
import yarl

from app.run import main as bot_main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--discord-url", required=True)
    args = parser.parse_args()
    base = args.discord_url.rstrip("/")
    discord.http.Route.BASE = base + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        base.replace("http://", "ws://") + "/gateway"
    )
    # The bot's own main(): the same start-up checks, signal handling and exit codes.
    return bot_main(guild_ready_timeout=0.01)


if __name__ == "__main__":
    sys.exit(main())
