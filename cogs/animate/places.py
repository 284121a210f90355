"""Where an interaction comes from, and what the bot may do there afterwards.

Where the bot is a member (a server that added it, or its own DM) its channel routes,
its reactions and the gateway's events work. Elsewhere (its user install in a server
that never added it, a group DM) it has only the interaction's token: the status lives
on the original response, Cancel is a button, at most five followups, for fifteen
minutes (shared/docs/discord-platform.md, "Installs and contexts").
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.domain import Reach, Visibility

log = logging.getLogger(__name__)

# Where the commands a member uses may be installed and used, set explicitly: Discord
# honours these on global commands only (app/command_sync.py syncs them globally).
EVERY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)
ANYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)

# Discord takes five followups per interaction where the app is not a member (the one
# that replaces a deferred reply counts); the bot keeps to it everywhere.
FOLLOWUPS_PER_INTERACTION = 5
# Channels where sending takes Send Messages in Threads rather than Send Messages.
THREADS = frozenset(
    {
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    }
)
# `Interaction.extras` keys: followups sent on it, and who sees the job it started.
FOLLOWUPS_SENT = "animate:followups"
VISIBILITY = "animate:visibility"


def reach_of(interaction: discord.Interaction[Any]) -> Reach:
    """How the bot reaches this interaction's place once its token is gone."""
    if interaction.context.dm_channel:
        return Reach.CHANNEL  # its own DM with the user
    if interaction.context.private_channel:
        return Reach.TOKEN  # a group DM, or a DM between others: it is no recipient
    # A server: a member there when the server's install authorized the command, or when
    # it is in the server anyway (Discord authorizes through the user's install alone
    # where the server restricted the command: its switches and budget must still hold).
    if interaction.is_user_integration() and not interaction.is_guild_integration():
        guild_id = interaction.guild_id
        if guild_id is None or interaction.client.get_guild(guild_id) is None:
            return Reach.TOKEN
    return Reach.CHANNEL


def settings_guild(interaction: discord.Interaction[Any]) -> int | None:
    """The server whose settings (pause, channels, models, budget, language) apply: the
    interaction's, when its install started it; None where only the operator's do."""
    return interaction.guild_id if reach_of(interaction) is Reach.CHANNEL else None


def followups_left(interaction: discord.Interaction[Any]) -> int:
    return FOLLOWUPS_PER_INTERACTION - interaction.extras.get(FOLLOWUPS_SENT, 0)


async def follow_up(
    interaction: discord.Interaction[Any], content: str, **kwargs: Any
) -> discord.WebhookMessage | None:
    """A followup within the interaction's five; None when they are spent."""
    if followups_left(interaction) <= 0:
        return None
    # Counted before it goes: one that fails on the way may still have been made.
    interaction.extras[FOLLOWUPS_SENT] = interaction.extras.get(FOLLOWUPS_SENT, 0) + 1
    message = await interaction.followup.send(content, wait=True, **kwargs)
    view = kwargs.get("view")
    if isinstance(view, discord.ui.View):
        # discord.py times an ephemeral message's view out after 15 minutes (a task per
        # message); the bot's buttons are dynamic items, found by their custom id.
        view.stop()
    return message


async def fail(interaction: discord.Interaction[Any], text: str) -> None:
    """After a defer: swap the "thinking" message for an error only the author sees."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("Could not delete the placeholder", exc_info=True)
    if await follow_up(interaction, text, ephemeral=True) is None:
        log.info("No followup left to tell user %s: %s", interaction.user.id, text)


def remember_visibility(
    interaction: discord.Interaction[Any],
    private: bool,
    answer: discord.InteractionCallbackResponse[Any] | None,
) -> Visibility:
    """Who sees the job this deferred interaction starts: private when asked; forced
    private when asked public but Discord answered ephemeral (the server denies
    external apps)."""
    if private:
        visibility = Visibility.PRIVATE
    elif answer is not None and answer.is_ephemeral():
        visibility = Visibility.FORCED_PRIVATE
    else:
        visibility = Visibility.PUBLIC
    interaction.extras[VISIBILITY] = visibility
    return visibility


def visibility_of(interaction: discord.Interaction[Any]) -> Visibility:
    return interaction.extras.get(VISIBILITY, Visibility.PUBLIC)  # type: ignore[no-any-return]


def may_post_here(interaction: discord.Interaction[Any]) -> bool:
    """May this member have the bot post for them here? A job's messages show their
    prompt in the channel as if they had sent it, and buttons skip Discord's checks."""
    if interaction.guild_id is None:
        return True  # a DM has no channel rules (and Discord sends no permissions there)
    allowed = interaction.permissions
    in_thread = getattr(interaction.channel, "type", None) in THREADS
    may_send = allowed.send_messages_in_threads if in_thread else allowed.send_messages
    return may_send and allowed.use_application_commands
