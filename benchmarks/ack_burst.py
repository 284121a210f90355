"""200 `/animate` invocations dispatched at once by 200 users: time to the defer.

Target: p99 under 500 ms, none over 3 s (Discord's deadline). `--users 1000`
shows a burst five times larger still answered in time. Also measures the first
status message (the first edit of the deferred answer; target p99 <= 10 s at 1,000).
`--format jpeg` (or webp) sends the same picture in that format: a PNG's damage is
found by its checksums, the others' by decoding them (bot/images/checks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

from PIL import Image

from benchmarks.common import machine, percentile, rig, summary, write_json
from benchmarks.live_jobs import live_settings
from tests.fakes.runcomfy import Timeline

USERS = 200
FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


def picture(kind: str) -> bytes:
    """The 800x600 picture of the tests, in the format asked."""
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, format=FORMATS[kind][0])
    return out.getvalue()


async def main(
    users_count: int = USERS, json_path: Path | None = None, kind: str = "png"
) -> dict[str, float]:
    # Production poll intervals: the jobs stay queued while the burst is measured.
    async with rig(**live_settings(users_count, time_scale=1.0)) as r:
        users = [r.discord.add_user(f"user{i}") for i in range(users_count)]
        r.runcomfy.script(*(Timeline(manual=True) for _ in range(users_count)))
        await r.bot.start()
        image, mime = picture(kind), FORMATS[kind][1]
        attachments = [r.discord.add_cdn_file(image, f"photo.{kind}", mime) for _ in users]
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
        # The status message is the first edit of each deferred answer.
        first_edit: dict[str, float] = {}
        for q in r.discord.requests:
            if q.method == "PATCH" and q.path.endswith("/messages/@original"):
                token = q.path.split("/")[-3]
                first_edit.setdefault(token, q.at)
        firsts = [
            first_edit[ix.token] - ix.created_at for ix in interactions if ix.token in first_edit
        ]
    late = sum(1 for a in acks if a > 3.0)
    head = f"ack burst: {users_count} /animate at once ({kind})"
    print(f"{head} -> defer: {summary(acks)}; over 3 s: {late}")
    print(f"  first status message: {summary(firsts, 's', 1.0)} (target p99 <= 10 s)")
    print(f"  machine: {machine()}")
    figures = {
        "ack_p50_ms": percentile(acks, 0.5) * 1000,
        "ack_p99_ms": percentile(acks, 0.99) * 1000,
        "ack_max_ms": max(acks) * 1000,
        "late": float(late),
        "status_message_p50_s": percentile(firsts, 0.5),
        "status_message_p99_s": percentile(firsts, 0.99),
        "status_messages": float(len(firsts)),
    }
    write_json(json_path, figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--format", choices=sorted(FORMATS), default="png")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.json, args.format))
