"""A member's own install of the app, used in a server that added the bot too: Discord
authorizes the command through the user's install alone where the server's admins
restricted it (its integration permissions), and the server's switches must still hold.

The fake Discord is told that the guild's channel authorizes through the user's install
only (`authorizing_integration_owners` = {"1": user}), while the bot is a member there.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import FakeUser, Place
from tests.fakes.discord.wire import USER_INSTALL
from tests.fakes.runcomfy import FakeRunComfy, Timeline


def through_own_install(fake: FakeDiscord) -> None:
    """From now on the guild's channels authorize commands through the user's install."""
    place_of = fake.place_of

    def own_install(channel_id: int | None, user: FakeUser, *, dm: bool = False) -> Place:
        place = place_of(channel_id, user, dm=dm)
        if place.guild_id != fake.guild_id:
            return place
        return replace(place, owners={"1": str(user.id)}, installs=frozenset({USER_INSTALL}))

    fake.place_of = own_install  # type: ignore[method-assign]


@pytest.mark.parametrize("switch", ["paused", "budget"])
async def test_a_servers_switches_hold_for_a_members_own_install(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, switch: str
) -> None:
    change = {"paused": {"paused": True}, "budget": {"daily_spend_cap_usd": 0.01}}[switch]
    await bot.jobs.store.change_guild_settings(discord_fake.guild_id, by=None, at=0.0, **change)
    through_own_install(discord_fake)
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite")
    text = (await reply(discord_fake, ix)).content
    assert ix.ephemeral and ("paused" in text or "budget" in text), text
    assert runcomfy_fake.count("submit") == 0


async def test_a_members_own_install_counts_against_the_servers_budget(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Counted nowhere, such jobs passed a server's budget without end: each was admitted
    # against a committed sum they never joined.
    runcomfy_fake.script(Timeline(queue_seconds=0.05, run_seconds=0.05))
    through_own_install(discord_fake)
    ix = await discord_fake.invoke("animate", image=png(), prompt="a kite")
    await discord_fake.wait_for(lambda: runcomfy_fake.count("submit") == 1, within=10)
    assert ix.response_type == 5
    report = await bot.jobs.store.usage_report(discord_fake.guild_id, since=0.0)
    assert report.jobs == 1
