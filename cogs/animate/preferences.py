"""/animate-settings: what a user chooses for themselves, wherever they use the bot.

Today one setting: their new videos private by default (`private:true` on /animate does
it for one video, `private:false` shows one anyway).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.jobs import JobService
from cogs.animate.places import ANYWHERE, EVERY_INSTALL
from cogs.common.translator import command_text, user_messages

# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po).
PRIVATE_NOW = "settings.private"
PUBLIC_NOW = "settings.public"


def settings_command(jobs: JobService) -> app_commands.Command[Any, ..., None]:
    """The command, answering from and to `jobs`' user settings."""

    @app_commands.command(
        name="animate-settings", description=command_text("settings.command.description")
    )
    @app_commands.describe(private=command_text("settings.option.private"))
    async def animate_settings(
        interaction: discord.Interaction, private: bool | None = None
    ) -> None:
        user_id = interaction.user.id
        if private is None:
            chosen = await jobs.user_settings(user_id)
        else:
            chosen = await jobs.change_user_settings(user_id, private=private)
        text = user_messages(interaction)(PRIVATE_NOW if chosen.private else PUBLIC_NOW)
        await interaction.response.send_message(text, ephemeral=True)

    animate_settings.allowed_installs = EVERY_INSTALL
    animate_settings.allowed_contexts = ANYWHERE
    return animate_settings
