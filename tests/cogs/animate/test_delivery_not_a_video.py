"""A video URL that answers 200 with a web page (a CDN's error or sign-in page) instead of
the video: the author gets the link and the truth, not a page posted as their video."""

from __future__ import annotations

from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.runcomfy.faults import HTML_PAGE


async def test_a_web_page_served_as_the_video_is_not_posted_as_the_video(
    bot: object, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    pages = (HTML_PAGE, '  {"error": "AccessDenied"}', "<?xml version='1.0'?><Error/>")
    for sent, page in enumerate(pages, start=1):
        runcomfy_fake.script(Timeline(media=page.encode(), queue_seconds=0.05, run_seconds=0.05))
        await discord_fake.invoke("animate", image=png(), prompt="p")
        links = await discord_fake.wait_for(lambda n=sent: len(links_posted(discord_fake)) == n)
    links = links_posted(discord_fake)
    assert all("could not fetch" in link.content for link in links)
    posted = [a.filename for m in discord_fake.channel_messages() for a in m.attachments]
    assert not [name for name in posted if name.endswith(".mp4")]


def links_posted(fake: FakeDiscord) -> list[FakeMessage]:
    return [m for m in fake.channel_messages() if "/videos/" in m.content]


async def test_an_empty_answer_served_as_the_video_is_not_posted_as_the_video(
    bot: object, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(media=b"", queue_seconds=0.05, run_seconds=0.05))
    await discord_fake.invoke("animate", image=png(), prompt="p")
    (link,) = await discord_fake.wait_for(lambda: links_posted(discord_fake))
    assert "could not fetch" in link.content
    posted = [a.filename for m in discord_fake.channel_messages() for a in m.attachments]
    assert not [name for name in posted if name.endswith(".mp4")]
