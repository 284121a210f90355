"""A private render speaks its author's language: only they read its status and video.
What Post to channel then posts is public, so it speaks the server's."""

from __future__ import annotations

from tests.cogs.animate.helpers import png, state_of
from tests.cogs.animate.test_anywhere import videos_in
from tests.cogs.animate.test_private import public_videos, share_id, spoiler_button
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


def labels(message: FakeMessage) -> list[str]:
    return [c["label"] for row in message.components for c in row["components"]]


async def test_a_private_render_speaks_its_author_and_its_post_the_server(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.community, discord_fake.guild_locale = True, "fr"  # a French server
    await runner.start()
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    ix = await discord_fake.invoke(
        "animate", image=png(), prompt="a lighthouse", private=True, locale="en-US"
    )
    status = discord_fake.messages[await discord_fake.wait_for(lambda: ix.original_id)]
    (video,) = await discord_fake.wait_for(
        lambda: videos_in(discord_fake, discord_fake.general), within=10
    )
    await discord_fake.wait_for(lambda: status.embeds[0]["title"].startswith("✅"))
    assert "Done" in state_of(status)
    assert video.ephemeral and "your video is ready" in video.content
    assert labels(video) == ["Post to channel"]

    await discord_fake.click(video, share_id(video), locale="en-US")
    (posted,) = await discord_fake.wait_for(lambda: public_videos(discord_fake), within=10)
    assert "a lighthouse" in posted.content
    assert posted.content.startswith("🎬 Une vidéo de")
    assert labels(posted) == ["Marquer comme spoiler"]
    # Its author marks it as a spoiler: the post keeps speaking the server's language.
    await discord_fake.click(posted, spoiler_button(posted), locale="en-US")
    await discord_fake.wait_for(lambda: posted.attachments and posted.attachments[0].spoiler)
    assert labels(posted) == ["Retirer le spoiler"]
