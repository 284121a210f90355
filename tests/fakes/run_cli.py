"""Run `python -m bot ARGS` in its own process with Discord pointed at a fake.

    python -m tests.fakes.run_cli --discord-url http://127.0.0.1:PORT check

Only discord.py's REST base and gateway URL are redirected (as `pointed_at` does
in-process); the command line itself is the real one.
"""

from __future__ import annotations

import sys

import discord.gateway
import discord.http
import yarl

from app.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] != ["--discord-url"] or len(sys.argv) < 3:
        sys.exit("usage: python -m tests.fakes.run_cli --discord-url URL [ARGS...]")
    base = sys.argv[2].rstrip("/")
    discord.http.Route.BASE = base + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        base.replace("http://", "ws://") + "/gateway"
    )
    sys.exit(main(sys.argv[3:]))
