"""/about: what this bot is and how to use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.translator import command_text, user_messages

if TYPE_CHECKING:
    from app.client import AnimateBot

# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po).
ABOUT = "about.body"


class About(commands.Cog):
    def __init__(self, bot: AnimateBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description=command_text("about.command.description"))
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(user_messages(interaction)(ABOUT), ephemeral=True)


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(About(bot))
