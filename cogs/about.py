"""/about: what this bot is and how to use it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.translator import command_text, user_messages

# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po).
ABOUT = "about.body"


class About(commands.Cog):
    @app_commands.command(name="about", description=command_text("about.command.description"))
    # Wherever its user is: a server, the bot's DM, a group DM (a user install).
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(user_messages(interaction)(ABOUT), ephemeral=True)
