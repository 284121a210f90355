"""A video that can only go as a link, whose URL is long (a signed URL with its policy
runs to kilobytes): the link message passed Discord's 2,000 characters, every place refused
it, and the author heard nothing while the status said Done."""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, state_of, status_message
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_a_link_longer_than_a_message_still_reaches_its_author(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The CDN does not know it (404): only the link can go, and it is 1,900 characters.
    url = runcomfy_fake.base_url + "/videos/gone.mp4?Policy=" + "p" * 1900
    runcomfy_fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, result_output={"video": url})
    )
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await discord_fake.wait_for(lambda: "Done" in state_of(status), within=15)
    (told,) = [m for m in discord_fake.channel_messages() if "your video is ready" in m.content]
    assert len(told.content) <= 2000
    assert url in told.content + str(told.embeds)
    assert told.pinged_users == {discord_fake.author.id}
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.delivered_message_id == told.id
