"""`python -m bot`: the operators' entry point, kept where the README, the Dockerfile and
systemd units expect it. The import contract's one named exception: `bot` never imports
the composition root, but this shim hands the command line to it (`app/cli.py`)."""

from __future__ import annotations

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
