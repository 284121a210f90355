"""`python -m bot`: see bot/cli.py for the subcommands."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
