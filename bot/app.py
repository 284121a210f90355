"""The composition root: builds every service and hands it to the bot.

This is the only module of `bot/` that imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import httpx
from discord.ext import commands

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging

log = logging.getLogger(__name__)

# Loaded in this order in setup_hook; listed, never discovered.
EXTENSIONS: tuple[str, ...] = ("cogs.about",)


@dataclass(frozen=True)
class Services:
    """What the cogs may use; built once by `assemble`."""

    settings: Settings
    # For public CDN downloads (videos, images): never carries a token.
    cdn_http: httpx.AsyncClient


class AnimateBot(commands.AutoShardedBot):
    def __init__(self, services: Services) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            # Nobody is pinged unless a message says so explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        guild_ids = self.settings.discord_guild_ids
        if not guild_ids:
            synced = await self.tree.sync()
            log.info("Synced %d global commands", len(synced))
            return
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %d", len(synced), guild_id)

    async def on_ready(self) -> None:
        log.info("Ready as %s in %d guilds", self.user, len(self.guilds))


@contextlib.asynccontextmanager
async def assemble(settings: Settings) -> AsyncIterator[AnimateBot]:
    """Open every resource the bot needs and close them all afterwards."""
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as cdn_http:
        bot = AnimateBot(Services(settings=settings, cdn_http=cdn_http))
        try:
            yield bot
        finally:
            await bot.close()


async def run(settings: Settings) -> None:
    async with assemble(settings) as bot:
        await bot.start(settings.discord_token.get_secret_value())


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN: check it in the developer portal.")
        return 1
    except KeyboardInterrupt:
        pass
    return 0
