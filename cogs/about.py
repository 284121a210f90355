"""/about: what this bot is and how to use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.app import AnimateBot

ABOUT = (
    "I turn a picture into a short video with ByteDance Seedance 1.5 pro.\n"
    "Use `/animate`, attach an image and describe the motion. "
    "React ❌ to the status message (or press Cancel) to cancel a queued job; "
    "`/history` shows your own jobs."
)


class About(commands.Cog):
    def __init__(self, bot: AnimateBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="What this bot does and how to use it")
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(ABOUT, ephemeral=True)


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(About(bot))
