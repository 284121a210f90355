"""200 `/animate` invocations dispatched at once by 200 users: time to the defer.

Target: p99 under 500 ms, none over 3 s (Discord's deadline). `--users 1000`
shows a burst five times larger still answered in time.
"""

from __future__ import annotations

import argparse
import asyncio

from benchmarks.common import machine, rig, summary
from benchmarks.live_jobs import live_settings
from tests.fakes.runcomfy import Timeline
from tests.test_animate import png

USERS = 200


async def main(users_count: int = USERS) -> dict[str, float]:
    # Production poll intervals: the jobs stay queued while the burst is measured.
    async with rig(**live_settings(users_count, time_scale=1.0)) as r:
        users = [r.discord.add_user(f"user{i}") for i in range(users_count)]
        r.runcomfy.script(*(Timeline(manual=True) for _ in range(users_count)))
        await r.bot.start()
        image = png()
        attachments = [r.discord.add_cdn_file(image, "photo.png", "image/png") for _ in users]
        interactions = await asyncio.gather(
            *(
                r.discord.invoke("animate", image=attachment, prompt=f"burst {i}", user=user)
                for i, (user, attachment) in enumerate(zip(users, attachments, strict=True))
            )
        )
        await r.discord.wait_for(
            lambda: all(ix.responded_at is not None for ix in interactions), within=30
        )
        acks = [ix.ack_seconds or 0.0 for ix in interactions]
        await r.discord.wait_for(lambda: len(r.runcomfy.submits) == users_count, within=120)
    late = sum(1 for a in acks if a > 3.0)
    print(f"ack burst: {users_count} /animate at once -> defer: {summary(acks)}; over 3 s: {late}")
    print(f"  machine: {machine()}")
    return {
        "p50": sorted(acks)[len(acks) // 2],
        "p99": sorted(acks)[int(len(acks) * 0.99)],
        "max": max(acks),
        "late": late,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=USERS)
    asyncio.run(main(parser.parse_args().users))
