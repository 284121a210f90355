"""Two admins changing one server's settings at once: each change keeps the other's.

Every change writes only its own columns (the channel list: read and written under a
row lock), from two store connections as from two processes, on both backends.
"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.domain import GuildSettings
from bot.guild_settings import MAX_ALLOWED_CHANNELS, GuildAdmin, TooManyChannels
from tests.stores import OpenStore

GUILD = 500


def admin_over(store: object) -> GuildAdmin:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, discord_token=SecretStr("d"), runcomfy_api_token=SecretStr("r")
    )
    return GuildAdmin(settings=settings, store=store, clock=lambda: 1000.0)  # type: ignore[arg-type]


async def stored(open_store_at: OpenStore, guild_id: int) -> GuildSettings:
    """What the database holds, read by a store that never saw it (no kept copy)."""
    return await (await open_store_at()).guild_settings(guild_id)


async def test_a_pause_and_a_limit_at_once_both_stay(open_store_at: OpenStore) -> None:
    one, two = admin_over(await open_store_at()), admin_over(await open_store_at())
    for guild_id in range(GUILD, GUILD + 5):
        await asyncio.gather(
            one.pause(guild_id, by=1, reason="budget"),
            two.set_limits(guild_id, by=2, user_daily=3, daily_spend_usd=4.0),
        )
        now = await stored(open_store_at, guild_id)
        assert (now.paused, now.pause_reason) == (True, "budget"), now
        assert (now.user_daily, now.daily_spend_cap_usd) == (3, 4.0), now


async def test_channels_added_at_once_are_all_kept(open_store_at: OpenStore) -> None:
    one, two = admin_over(await open_store_at()), admin_over(await open_store_at())
    await asyncio.gather(
        one.set_channels(GUILD, by=1, add=11),
        two.set_channels(GUILD, by=2, add=22),
        one.set_channels(GUILD, by=1, add=33),  # and two at once on one connection
    )
    assert set((await stored(open_store_at, GUILD)).allowed_channel_ids) == {11, 22, 33}
    await asyncio.gather(
        one.set_channels(GUILD, by=1, remove=11),
        two.set_channels(GUILD, by=2, add=44),
        two.pause(GUILD, by=2, reason=None),
    )
    now = await stored(open_store_at, GUILD)
    assert set(now.allowed_channel_ids) == {22, 33, 44} and now.paused


async def test_a_refused_channel_change_changes_nothing(open_store_at: OpenStore) -> None:
    admin = admin_over(await open_store_at())
    for channel in range(MAX_ALLOWED_CHANNELS):
        await admin.set_channels(GUILD, by=1, add=1000 + channel)
    before = await stored(open_store_at, GUILD)
    with pytest.raises(TooManyChannels):
        await admin.set_channels(GUILD, by=2, add=1)
    assert await stored(open_store_at, GUILD) == before
    assert await admin.get(GUILD) == before
