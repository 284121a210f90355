"""REST: who the bot is, the guild and its members, and the commands it syncs."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.discord.checks import _check_command_texts
from tests.fakes.discord.guild import GuildMixin
from tests.fakes.discord.wire import DiscordError


class IdentityMixin(GuildMixin):
    async def _get_gateway(self, *_: Any) -> dict[str, Any]:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    async def _get_me(self, request: web.Request, *_: Any) -> dict[str, Any]:
        if self.bot_token is not None and request.headers.get("Authorization") != (
            f"Bot {self.bot_token}"
        ):
            raise DiscordError(401, 0, "401: Unauthorized")
        return {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def _get_application(self, *_: Any) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": "animate-bot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.moderator.payload(),
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
        }

    async def _get_user(self, request: web.Request, body: Any, files: Any, uid: str) -> Any:
        user = self.users.get(int(uid))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return user.payload()

    def _known_guild(self, gid: str) -> None:
        if int(gid) == self.foreign_guild_id:
            raise DiscordError(403, 50001, "Missing Access")  # the bot is not in it
        if int(gid) != self.guild_id:
            # Discord: 404 Unknown Guild for an id that is no guild, 403 Missing Access for
            # one the bot is not in; the fake knows only its own guild.
            raise DiscordError(404, 10004, "Unknown Guild")

    async def _get_guild(self, request: web.Request, body: Any, files: Any, gid: str) -> Any:
        self._known_guild(gid)
        return {
            k: v
            for k, v in self._guild_payload().items()
            if k not in ("members", "channels", "threads", "presences", "voice_states")
        }

    async def _get_member(
        self, request: web.Request, body: Any, files: Any, gid: str, uid: str
    ) -> Any:
        self._known_guild(gid)
        user = self.users.get(int(uid))
        if user is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return self._member_payload(user)

    async def _put_commands(
        self, request: web.Request, body: Any, files: Any, app: str, guild: str | None = None
    ) -> list[dict[str, Any]]:
        if guild is not None and int(guild) != self.guild_id:
            raise DiscordError(403, 50001, "Missing Access")  # the bot is not in that guild
        stored = []
        for command in body or []:
            _check_command_texts(command)
            command = {
                # Discord answers "" for the description of context menu commands.
                "description": "",
                **command,
                "id": str(self._next_id()),
                "application_id": app,
                "version": "1",
            }
            if guild is not None:
                command["guild_id"] = guild
            stored.append(command)
        self.commands[int(guild) if guild else None] = stored
        return stored

    def command(self, name: str) -> dict[str, Any]:
        for commands in self.commands.values():
            for command in commands:
                if command["name"] == name:
                    return command
        raise KeyError(f"the bot did not sync a command named {name!r}")
