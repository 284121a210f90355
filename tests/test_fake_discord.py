"""The fake Discord, and the real bot connected through it."""

from __future__ import annotations

import discord
import discord.gateway
import discord.http

from bot.app import AnimateBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner


async def test_canary_discord_py_can_still_be_redirected(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    # If discord.py renames these, every end-to-end test would silently target Discord.
    assert discord_fake.api_base == discord.http.Route.BASE
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == discord_fake.gateway_url
    assert discord_fake.count("GET", "/users/@me") >= 1
    assert discord_fake.identified.is_set()


async def test_bot_connects_syncs_and_answers(
    bot: AnimateBot, discord_fake: FakeDiscord, runner: BotRunner
) -> None:
    synced = {c["name"] for c in discord_fake.commands[discord_fake.guild_id]}
    assert {"about", "animate"} <= synced
    assert runner.last_start_seconds < 1.0

    interaction = await discord_fake.invoke("about")
    await discord_fake.wait_for(lambda: interaction.response_type == 4)
    reply = discord_fake.messages[interaction.original_id]  # type: ignore[index]
    assert reply.ephemeral and "Seedance" in reply.content
    assert interaction.ack_seconds is not None and interaction.ack_seconds < 1.0
