"""Run `python -m bot ARGS` in its own process with Discord's REST pointed at a fake.

    python -m tests.fakes.run_cli --discord-url http://127.0.0.1:PORT check

Only discord.py's REST base is redirected (as `pointed_at` does in-process); the
command line itself is the real one.
"""

from __future__ import annotations

import sys

import discord.http

from bot.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] != ["--discord-url"] or len(sys.argv) < 3:
        sys.exit("usage: python -m tests.fakes.run_cli --discord-url URL [ARGS...]")
    discord.http.Route.BASE = sys.argv[2].rstrip("/") + "/api/v10"
    sys.exit(main(sys.argv[3:]))
