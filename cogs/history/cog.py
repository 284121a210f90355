"""/history and /history-clear: each user's own jobs, privately.

`/history` alone must work, and Discord cannot invoke a command group bare,
so clearing is its own command, `/history-clear`, next to it in the picker.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.history import HistoryService, StatusFilter
from cogs.common.contracts import AnimateAgain
from cogs.common.presses import PressLedger
from cogs.common.translator import command_text, user_messages
from cogs.history.rendering import FILTER_KEYS, clear_question, detail_embed, page_embed
from cogs.history.views import NOT_FOUND, Browsing, ClearView, DetailView, OwnedView, PageView

log = logging.getLogger(__name__)

# Catalog key (bot/locales/*/LC_MESSAGES/messages.po).
NOTHING_TO_CLEAR = "history_clear.nothing"


class History(commands.Cog):
    def __init__(self, service: HistoryService, *, again: AnimateAgain | None) -> None:
        """`again` starts a past job again ("Animate again" in a job's details)."""
        self.service = service
        self.browsing = Browsing(service, PressLedger(), again)

    async def cog_unload(self) -> None:
        for view in list(OwnedView.live):
            view.stop()

    @app_commands.command(name="history", description=command_text("history.command.description"))
    # Wherever its user is: a server, the bot's DM, a group DM (a user install).
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(
        status=command_text("history.option.status"),
        job=command_text("history.option.job"),
    )
    @app_commands.choices(
        status=[
            app_commands.Choice(name=command_text(key), value=status.value)
            for status, key in FILTER_KEYS.items()
        ]
    )
    async def history(
        self,
        interaction: discord.Interaction,
        status: str = StatusFilter.ALL.value,
        job: app_commands.Range[int, 1] | None = None,
    ) -> None:
        user_id = interaction.user.id
        t = user_messages(interaction)
        if job is not None:
            found = await self.service.job(user_id, job)
            if found is None:
                await interaction.response.send_message(t(NOT_FOUND), ephemeral=True)
                return
            view = DetailView(self.browsing, user_id, interaction, found, back=None)
            await interaction.response.send_message(
                embed=detail_embed(found, t), view=view, ephemeral=True
            )
            return
        page = await self.service.page(user_id, status=StatusFilter(status))
        if page.total == 0:
            # Nothing to page through or pick: the friendly line alone, no dead widgets.
            await interaction.response.send_message(embed=page_embed(page, t), ephemeral=True)
            return
        await interaction.response.send_message(
            embed=page_embed(page, t),
            view=PageView(self.browsing, user_id, interaction, page),
            ephemeral=True,
        )

    @app_commands.command(
        name="history-clear", description=command_text("history_clear.command.description")
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def history_clear(self, interaction: discord.Interaction) -> None:
        t = user_messages(interaction)
        total = await self.service.clearable(interaction.user.id)
        if total == 0:
            await interaction.response.send_message(t(NOTHING_TO_CLEAR), ephemeral=True)
            return
        await interaction.response.send_message(
            clear_question(total, t),
            view=ClearView(self.service, interaction.user.id, interaction),
            ephemeral=True,
        )
