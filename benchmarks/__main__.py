"""`make bench`: run every benchmark in turn; each prints its own figures."""

from __future__ import annotations

import asyncio

from benchmarks import (
    ack_burst,
    bombs,
    fit_video,
    history_bench,
    image_check,
    large_video,
    live_jobs,
    restart,
    tracking,
)


async def main() -> None:
    await history_bench.main()
    await image_check.main()
    await bombs.main()
    await ack_burst.main()
    await large_video.main()
    await live_jobs.main()
    await tracking.main()
    await restart.main()
    await fit_video.main(fit_video.parse([]))


if __name__ == "__main__":
    asyncio.run(main())
