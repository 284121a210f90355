"""The narrow contracts cogs are built with: what they may ask of the bot and of each other.

The composition root (app/) hands each cog these, never itself: a cog knows what it
may ask, not who answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord.ext import commands

from bot.domain import Job

# The bot a cog adds commands and listeners to (sharded or not).
AnyBot = commands.Bot | commands.AutoShardedBot

# May this interaction start work? False once it was refused kindly (the bot is stopping).
# Buttons and forms that start jobs bypass the command tree's check, so they ask too.
Admit = Callable[[discord.Interaction[Any]], Awaitable[bool]]


class AnimateAgain(Protocol):
    """Runs a past job again, a new job of whoever asks (the animate cog's starter)."""

    async def animate_again(
        self,
        interaction: discord.Interaction[Any],
        source: Job,
        *,
        accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """False when refused (nothing started); `accepted` runs right after the defer."""
        ...
