"""The buttons under a video follow the channel's rules (issue 27, item 7)."""

from __future__ import annotations

from pathlib import Path

from app.client import AnimateBot
from bot import i18n
from tests.cogs.animate.edges import QUICK, answered, video_with_clip
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_extend import delivered
from tests.fakes.discord import SEND_MESSAGES, USE_COMMANDS, FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy


async def test_a_member_who_may_not_send_messages_here_starts_nothing_from_a_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake, stranger = discord_fake, discord_fake.stranger
    video = await video_with_clip(fake, runcomfy_fake, tmp_path, QUICK)
    fake.deny(stranger, fake.general, SEND_MESSAGES)
    actions = [
        c for c in video.custom_ids if c.split(":")[1] in ("again", "remix", "higher", "extend")
    ]
    assert len(actions) == 5
    for custom_id in actions:
        said = await answered(fake, await fake.click(video, custom_id, user=stranger, locale="fr"))
        assert said.ephemeral and said.content == i18n.for_locale("fr")("start.no_send"), custom_id
    # Neither from the menu on someone's picture, nor with the command.
    posted = fake.post("look", files=(("cat.png", png()),))
    menu = await fake.invoke_message_command("Animate", posted, user=stranger)
    assert (await answered(fake, menu)).ephemeral and menu.modal is None
    command = await fake.invoke("animate", user=stranger, image=png(), prompt="mine")
    assert (await answered(fake, command)).ephemeral
    assert len(runcomfy_fake.submits) == 1
    assert not any(c.get("disabled") for row in video.components for c in row["components"])
    # Elsewhere the same member may.
    elsewhere = await fake.invoke(
        "animate", user=stranger, channel=fake.art, image=png(), prompt="x"
    )
    await fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    assert not (await answered(fake, elsewhere)).ephemeral
    await fake.wait_for(
        lambda: [m for m in fake.channel_messages(fake.art) if "video is ready" in m.content],
        within=10,
    )


async def test_a_member_who_may_not_use_apps_here_starts_nothing_from_a_video(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    fake, stranger = discord_fake, discord_fake.stranger
    runcomfy_fake.script(QUICK)
    await fake.invoke("animate", image=png(), prompt="p")
    (video,) = await fake.wait_for(lambda: delivered(fake), within=30)
    fake.deny(stranger, fake.general, USE_COMMANDS)
    again = next(c for c in video.custom_ids if c.startswith("animate:again:"))
    said = await answered(fake, await fake.click(video, again, user=stranger))
    assert said.ephemeral and said.content == i18n.english()("start.no_send")
    assert len(runcomfy_fake.submits) == 1
