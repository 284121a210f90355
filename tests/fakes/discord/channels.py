"""REST: channels, their messages and reactions, and DMs."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.discord.guild import GuildMixin
from tests.fakes.discord.messages import MessageStore
from tests.fakes.discord.reading import ReadingMixin
from tests.fakes.discord.records import FakeMessage
from tests.fakes.discord.wire import DiscordError


class ChannelsMixin(GuildMixin, MessageStore, ReadingMixin):
    def _check_channel(self, channel_id: int) -> None:
        """The bot's channel routes: its guild's channels it can see, and its DMs. A server
        that never added it answers 403; a group DM it is not in, 404."""
        if channel_id in (self.hidden, self.foreign_channel):
            raise DiscordError(403, 50001, "Missing Access")
        if channel_id not in self.channel_names and channel_id not in self.dm_channels.values():
            raise DiscordError(404, 10003, "Unknown Channel")

    def _channel_message(self, channel_id: int, message_id: int) -> FakeMessage:
        self._check_channel(channel_id)
        message = self._message(message_id)
        if message.channel_id != channel_id or message.ephemeral:
            # Ephemeral messages do not exist for the channel routes.
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, request: web.Request, body: Any, files: Any, cid: str) -> Any:
        self._check_channel(int(cid))
        return self._channel_payload(int(cid))

    async def _channel_send(self, request: web.Request, body: Any, files: Any, cid: str) -> Any:
        channel_id = int(cid)
        self._check_channel(channel_id)
        if channel_id in self.dm_channels.values():
            user_id = next(u for u, c in self.dm_channels.items() if c == channel_id)
            if user_id in self.dm_closed:
                raise DiscordError(403, 50007, "Cannot send messages to this user")
        body = body or {}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Discord returns the earlier message for a repeated nonce (a few minutes).
            earlier = self._nonces.get((channel_id, str(nonce)))
            if earlier is not None:
                return self.messages[earlier].payload()
        message = self._create_message(
            channel_id, body, files, flags=0, via_token=None, limit=self.upload_limit
        )
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = message.id
        return message.payload()

    async def _channel_get(
        self, request: web.Request, body: Any, files: Any, cid: str, mid: str
    ) -> Any:
        return self._channel_message(int(cid), int(mid)).payload()

    async def _channel_history(
        self, request: web.Request, body: Any, files: Any, cid: str
    ) -> list[dict[str, Any]]:
        """Up to `limit` (1-100, default 50) messages next to `after` or `before`, newest first."""
        self._check_channel(int(cid))
        limit = min(100, max(1, int(request.query.get("limit", 50))))
        after, before = request.query.get("after"), request.query.get("before")
        found = sorted(self.channel_messages(int(cid)), key=lambda m: m.id)
        if after is not None:
            found = [m for m in found if m.id > int(after)][:limit]
        else:
            found = [m for m in found if before is None or m.id < int(before)][-limit:]
        return [m.payload() for m in reversed(found)]

    async def _channel_edit(
        self, request: web.Request, body: Any, files: Any, cid: str, mid: str
    ) -> Any:
        message = self._channel_message(int(cid), int(mid))
        self._apply_edit(message, body or {}, files, via="channel", limit=self.upload_limit)
        return message.payload()

    async def _channel_delete(
        self, request: web.Request, body: Any, files: Any, cid: str, mid: str
    ) -> None:
        self._channel_message(int(cid), int(mid)).deleted = True

    async def _react(
        self, request: web.Request, body: Any, files: Any, cid: str, mid: str, emoji: str, who: str
    ) -> None:
        message = self._channel_message(int(cid), int(mid))
        user_id = self.bot.id if who == "@me" else int(who)
        message.reactions.setdefault(_emoji(emoji), set()).add(user_id)

    async def _unreact(
        self, request: web.Request, body: Any, files: Any, cid: str, mid: str, emoji: str, who: str
    ) -> None:
        message = self._channel_message(int(cid), int(mid))
        if who != "@me" and not self.bot_can_manage_messages:
            raise DiscordError(403, 50013, "Missing Permissions")
        user_id = self.bot.id if who == "@me" else int(who)
        message.reactions.get(_emoji(emoji), set()).discard(user_id)

    async def _open_dm(self, request: web.Request, body: Any, files: Any) -> Any:
        user_id = int(body["recipient_id"])
        user = self.users.get(user_id)
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        channel_id = self.dm_channels.setdefault(user_id, self._next_id())
        return {
            "id": str(channel_id),
            "type": 1,
            "recipients": [user.payload()],
            "last_message_id": None,
        }


def _emoji(raw: str) -> str:
    return unquote(raw)
