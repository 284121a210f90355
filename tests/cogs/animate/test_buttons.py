"""One button type, driven by a table: custom ids already on Discord keep working."""

from __future__ import annotations

import discord
import pytest

from app.client import AnimateBot
from cogs.animate.buttons import ACTIONS, PATTERN, JobButton, Press, bind
from tests.cogs.animate.test_results import delivered, jobs_of, settle
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy

# As the six button classes of earlier versions wrote them on messages.
EARLIER_IDS = {
    "animate:cancel:12": Press("cancel", 12),
    "animate:again:12": Press("again", 12),
    "animate:remix:12": Press("remix", 12),
    "animate:higher:12:720p": Press("higher", 12, "720p"),
    "animate:higher:12:1080p": Press("higher", 12, "1080p"),
    "animate:extend:12": Press("extend", 12),
    "animate:join:12": Press("join", 12),
}


@pytest.mark.parametrize("custom_id", sorted(EARLIER_IDS))
def test_custom_ids_of_earlier_versions_parse_and_are_built_the_same(custom_id: str) -> None:
    press = Press.parse(custom_id)
    assert press == EARLIER_IDS[custom_id]
    assert press.custom_id == custom_id
    assert PATTERN.fullmatch(custom_id)


@pytest.mark.parametrize(
    "custom_id", ["animate:again:x", "animate:again", "other:again:12", "animate:again:12:"]
)
def test_ids_that_are_not_the_bots_parse_to_nothing(custom_id: str) -> None:
    assert Press.parse(custom_id) is None


@pytest.mark.parametrize(
    "press",
    [
        Press("higher", 12, "1080i"),  # not a resolution any model names ("4k" may be)
        Press("higher", 12),
        Press("again", 12, "720p"),
        Press("dance", 12),
    ],
)
async def test_a_press_no_version_made_is_ignored(press: Press) -> None:
    button = JobButton(press, discord.ui.Button())
    assert not await button.interaction_check(None)  # type: ignore[arg-type]


def test_every_action_needs_its_handler() -> None:
    async def handler(interaction: discord.Interaction, press: Press) -> None:
        pass

    client = discord.Client(intents=discord.Intents.none())
    handlers = dict.fromkeys(ACTIONS, handler)
    del handlers["join"]
    with pytest.raises(ValueError, match="join"):
        bind(client, handlers)


async def test_a_button_posted_by_an_earlier_version_starts_its_job(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    video = await delivered(discord_fake, runcomfy_fake)
    (job,) = await jobs_of(bot, discord_fake.author)
    earlier = f"animate:higher:{job.id}:720p"  # type: ignore[attr-defined]
    assert earlier in video.custom_ids
    await discord_fake.click(video, earlier)
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    assert runcomfy_fake.submits[1]["resolution"] == "720p"
    await settle(discord_fake, runcomfy_fake, 2)
