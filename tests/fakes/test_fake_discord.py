"""The fake Discord, and the real bot connected through it."""

from __future__ import annotations

import io

import discord
import discord.gateway
import discord.http
import pytest

from app.client import AnimateBot
from tests.fakes.discord import FakeDiscord, FakeInteraction
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


# -- where the app is not a member (its user install elsewhere, a group DM) -----


async def interaction_in(
    bot: AnimateBot, fake: FakeDiscord, channel: int
) -> tuple[FakeInteraction, discord.Interaction]:
    """/about run in `channel`, as the fake dispatched it and as discord.py saw it."""
    seen: list[discord.Interaction] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction)

    bot.add_listener(on_interaction)
    ix = await fake.invoke("about", channel=channel)
    await fake.wait_for(lambda: ix.response_type is not None and seen)
    bot.remove_listener(on_interaction)
    return ix, seen[0]


async def test_a_user_install_elsewhere_has_the_token_alone_and_five_followups(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    ix, interaction = await interaction_in(bot, discord_fake, discord_fake.foreign_channel)
    assert interaction.is_user_integration() and not interaction.is_guild_integration()
    assert interaction.guild_id == discord_fake.foreign_guild_id
    for n in range(5):
        await interaction.followup.send(f"followup {n}")
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.followup.send("a sixth")
    assert (caught.value.status, caught.value.code) == (400, 40094)
    assert ix.refused_followups == 1
    # No channel route: the bot is not in that server.
    with pytest.raises(discord.Forbidden) as forbidden:
        await bot.get_partial_messageable(discord_fake.foreign_channel).send("hi")
    assert forbidden.value.code == 50001


async def test_a_group_dm_is_context_2_without_channel_routes(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    _, interaction = await interaction_in(bot, discord_fake, discord_fake.group_dm)
    assert interaction.context.private_channel and interaction.guild_id is None
    with pytest.raises(discord.NotFound):
        await bot.get_partial_messageable(discord_fake.group_dm).send("hi")
    # /admin is for a server that added the bot: Discord does not offer it here.
    with pytest.raises(ValueError, match="offers no"):
        await discord_fake.invoke("admin pause", channel=discord_fake.group_dm)


async def test_a_server_denying_external_apps_forces_every_answer_ephemeral(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    discord_fake.foreign_external_apps = False
    seen: list[discord.Interaction] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction)
        answer = await interaction.response.defer(thinking=True)
        assert answer is not None and answer.is_ephemeral()  # though asked public
        await interaction.followup.send("hello")

    bot.tree.interaction_check = lambda interaction: _false()  # type: ignore[method-assign]
    bot.add_listener(on_interaction)
    ix = await discord_fake.invoke("about", channel=discord_fake.foreign_channel)
    await discord_fake.wait_for(lambda: ix.followup_ids)
    assert all(discord_fake.messages[m].ephemeral for m in [ix.original_id, *ix.followup_ids])


async def _false() -> bool:
    return False


async def test_an_attachment_is_marked_a_spoiler_by_an_edit(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    channel = bot.get_partial_messageable(discord_fake.general)
    message = await channel.send(file=discord.File(io.BytesIO(b"v" * 100), filename="v.mp4"))
    (attachment,) = discord_fake.messages[message.id].attachments
    assert not attachment.spoiler
    # Discord's edit: the kept attachment listed with `spoiler` (discord.py sends it as
    # `Attachment.is_spoiler()`, which it reads from the flags Discord returns).
    route = discord.http.Route(
        "PATCH", "/channels/{channel_id}/messages/{message_id}",
        channel_id=discord_fake.general, message_id=message.id,
    )  # fmt: skip
    await bot.http.request(route, json={"attachments": [{"id": attachment.id, "spoiler": True}]})
    assert attachment.spoiler
    edited = await channel.fetch_message(message.id)
    assert edited.attachments[0].is_spoiler()
    # A re-upload named SPOILER_… is one too.
    await edited.edit(attachments=[discord.File(io.BytesIO(b"w"), "w.mp4", spoiler=True)])
    assert discord_fake.messages[message.id].attachments[0].spoiler
