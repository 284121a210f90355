"""Run the fake RunComfy alone: `python -m tests.fakes.runcomfy --port 8765 --token xyz`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.fakes.runcomfy.server import FakeRunComfy


async def _serve(port: int, token: str) -> None:
    fake = FakeRunComfy(token=token, port=port)
    await fake.start()
    print(f"Fake RunComfy on {fake.base_url} (token {token!r}); Ctrl-C to stop")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="fake-runcomfy-token")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
