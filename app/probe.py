"""`python -m bot check`'s view of Discord: REST with the bot token, no gateway."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import discord.http

from bot.check import DiscordLoginFailed, GuildFacts


class DiscordRestProbe:
    """`python -m bot check`'s view of Discord: REST with the bot token, no gateway."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._http = discord.http.HTTPClient(asyncio.get_running_loop())

    async def __aenter__(self) -> DiscordRestProbe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.close()

    async def login(self) -> tuple[int, str]:
        try:
            user = await self._http.static_login(self._token)
        except discord.LoginFailure:
            raise DiscordLoginFailed from None
        except (aiohttp.ClientError, discord.HTTPException) as exc:
            raise ConnectionError(type(exc).__name__) from None
        return int(user["id"]), str(user["username"])

    async def guild(self, guild_id: int, bot_id: int) -> GuildFacts | None:
        try:
            guild = await self._http.get_guild(guild_id, with_counts=False)
            member = await self._http.get_member(guild_id, bot_id)
        except (discord.NotFound, discord.Forbidden):
            return None  # Discord answers 403 for a guild the bot is not in, 404 for no guild
        except (aiohttp.ClientError, discord.HTTPException) as exc:
            raise ConnectionError(type(exc).__name__) from None
        return GuildFacts(
            guild_id=guild_id,
            name=str(guild["name"]),
            owner_id=int(guild["owner_id"]),
            role_permissions={int(r["id"]): int(r["permissions"]) for r in guild["roles"]},
            member_roles=[int(role) for role in member["roles"]],
        )
