"""The fake Discord, and the real bot connected through it."""

from __future__ import annotations

import io

import discord
import discord.gateway
import discord.http
import pytest

from app.client import AnimateBot
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


# -- each injected fault, as discord.py sees it ---------------------------------


async def test_oversized_upload_is_413_code_40005(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.upload_limit = 1000
    channel = bot.get_partial_messageable(discord_fake.general)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(file=discord.File(io.BytesIO(b"x" * 2000), filename="v.mp4"))
    assert (caught.value.status, caught.value.code) == (413, 40005)


async def test_editing_a_deleted_message_is_not_found_10008(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    channel = bot.get_partial_messageable(discord_fake.general)
    message = await channel.send("hello")
    discord_fake.delete(discord_fake.messages[message.id])
    with pytest.raises(discord.NotFound) as caught:
        await message.edit(content="again")
    assert caught.value.code == 10008


async def test_a_channel_the_bot_cannot_see_is_forbidden_50001(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_partial_messageable(discord_fake.hidden).send("hi")
    assert caught.value.code == 50001


async def test_closed_dms_are_forbidden_50007(bot: AnimateBot, discord_fake: FakeDiscord) -> None:
    discord_fake.dm_closed.add(discord_fake.stranger.id)
    user = await bot.fetch_user(discord_fake.stranger.id)
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("hi")
    assert caught.value.code == 50007


async def test_an_expired_interaction_token_is_401_code_50027(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    seen: list[discord.Interaction] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction)

    bot.add_listener(on_interaction)
    ix = await discord_fake.invoke("about")
    await discord_fake.wait_for(lambda: ix.response_type is not None and seen)
    discord_fake.expire(ix)
    with pytest.raises(discord.HTTPException) as caught:
        await seen[0].edit_original_response(content="late")
    assert (caught.value.status, caught.value.code) == (401, 50027)


async def test_a_429_with_via_is_retried_by_discord_py(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.rate_limit_once("/messages", retry_after=0.05)
    message = await bot.get_partial_messageable(discord_fake.general).send("after a wait")
    assert discord_fake.messages[message.id].content == "after a wait"
    statuses = [r.status for r in discord_fake.requests if r.path.endswith("/messages")]
    assert statuses == [429, 200]


async def test_embed_limits_are_enforced_with_400_code_50035(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    channel = bot.get_partial_messageable(discord_fake.general)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=discord.Embed(title="t" * 257))
    assert (caught.value.status, caught.value.code) == (400, 50035)
    with pytest.raises(discord.HTTPException):
        await channel.send(embed=discord.Embed(description="d" * 4097))
    with pytest.raises(discord.HTTPException):
        await channel.send("c" * 2001)


async def test_pings_follow_content_and_allowed_mentions(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    channel = bot.get_partial_messageable(discord_fake.general)
    text = f"@everyone <@{discord_fake.author.id}> <@&{discord_fake.moderator_role}>"
    # The bot's client-wide default: nobody.
    quiet = await channel.send(text)
    everybody = await channel.send(text, allowed_mentions=discord.AllowedMentions.all())
    only_author = await channel.send(
        text,
        allowed_mentions=discord.AllowedMentions(users=[discord.Object(discord_fake.author.id)]),
    )
    pinged = discord_fake.pinged()
    assert quiet.id not in pinged
    assert pinged[everybody.id] == {
        discord_fake.author.id,
        discord_fake.stranger.id,
        discord_fake.moderator.id,
        discord_fake.admin.id,
    }
    assert pinged[only_author.id] == {discord_fake.author.id}


async def test_reactions_reach_on_raw_reaction_add(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    heard: list[discord.RawReactionActionEvent] = []

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        heard.append(payload)

    bot.add_listener(on_raw_reaction_add)
    message = await bot.get_partial_messageable(discord_fake.general).send("react to me")
    await discord_fake.react(discord_fake.messages[message.id], user=discord_fake.stranger)
    await discord_fake.wait_for(lambda: heard)
    assert heard[0].user_id == discord_fake.stranger.id and str(heard[0].emoji) == "❌"
    assert heard[0].member is not None and heard[0].guild_id == discord_fake.guild_id
