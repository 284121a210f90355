"""Issue 27 #18: the upload limit Discord gave with the command, kept with the job for
posts after its token expired; a 413 steps down once (re-encode under the next lower
limit, else the link)."""

from __future__ import annotations

from pathlib import Path

from tests.cogs.animate.helpers import png, request_id_of, state_of, wait_state
from tests.fakes import media
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

MIB = 1024 * 1024


async def test_a_video_posted_after_the_token_expired_uses_the_commands_upload_limit(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Discord's default is 20 MiB now; discord.py's table still says 10 MiB for an
    # unboosted server. The command said 20: a 15 MiB video is uploaded, not linked.
    await runner.start()
    discord_fake.upload_limit = 20 * MIB
    runcomfy_fake.script(Timeline(manual=True, video_size=15 * MIB))
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="p", attachment_size_limit=20 * MIB
    )
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    await discord_fake.wait_for(lambda: "Queued" in state_of(status))
    discord_fake.expire(ix)
    await runner.restart()  # nothing of the command is left in memory
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    await wait_state(discord_fake, status, "Done")
    (video,) = [m for m in discord_fake.channel_messages() if m.attachments and m.id != status.id]
    assert video.attachments[0].filename.endswith(".mp4")
    assert video.attachments[0].size == 15 * MIB
    assert not any("upload limit" in m.content for m in discord_fake.channel_messages())


async def test_a_413_steps_down_once_to_the_next_lower_limit(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    # The command said 20 MiB but the channel takes 10: the 14 MiB video is refused
    # (413) once, re-encoded under 10 MiB and posted.
    big = media.clip_bytes(
        tmp_path,
        media.Clip(
            content="noise", seconds=2.0, width=640, height=480, bit_rate=48_000_000,
            preset="ultrafast", audio=False,
        ),
    )  # fmt: skip
    assert 10 * MIB < len(big) < 20 * MIB
    await runner.start()
    discord_fake.upload_limit = 10 * MIB
    runcomfy_fake.script(Timeline(manual=True, media=big))
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="p", attachment_size_limit=20 * MIB
    )
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    await discord_fake.wait_for(lambda: "Queued" in state_of(status))
    discord_fake.expire(ix)  # so the video goes through the channel, whose limit is lower
    runcomfy_fake.set_state(request_id_of(runcomfy_fake), "completed")
    # Re-encoding 14 MiB takes a few seconds, more on a busy machine.
    await discord_fake.wait_for(lambda: "Done" in state_of(status), within=60)
    refused = [r for r in discord_fake.requests if r.status == 413]
    assert len(refused) == 1
    (video,) = [m for m in discord_fake.channel_messages() if m.attachments and m.id != status.id]
    assert video.attachments[0].filename.endswith(".mp4")
    assert video.attachments[0].size <= 10 * MIB
    assert not any("upload limit" in m.content for m in discord_fake.channel_messages())
