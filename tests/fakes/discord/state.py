"""The fake's state, in one place: every part of FakeDiscord builds on it."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord.records import (
    FakeAttachment,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    Recorded,
)
from tests.fakes.discord.wire import API, DEFAULT_UPLOAD_LIMIT


@dataclass
class _RateLimit:
    path_contains: str
    retry_after: float
    is_global: bool


class DiscordState:
    """The guild, its members and channels, what was posted, the knobs and faults."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self._host = host
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self.application_id = self._next_id()
        self.bot = FakeUser(self.application_id, "animate-bot", bot=True)
        self.guild_id = self._next_id()
        self.moderator_role = self._next_id()
        self.author = FakeUser(self._next_id(), "author")
        self.stranger = FakeUser(self._next_id(), "stranger")
        self.moderator = FakeUser(self._next_id(), "moderator", roles=[self.moderator_role])
        self.users = {u.id: u for u in (self.bot, self.author, self.stranger, self.moderator)}
        self.general = self._next_id()
        self.art = self._next_id()
        self.hidden = self._next_id()  # the bot cannot see it
        self.channel_names = {self.general: "general", self.art: "art", self.hidden: "staff"}
        # A server that never added the bot, where members use its user install: the bot
        # gets no gateway events from it and its channel routes answer 403 there.
        self.foreign_guild_id = self._next_id()
        self.foreign_channel = self._next_id()
        # That server lets members use external apps; False: "Use External Apps" denied,
        # so a user install's replies there are forced ephemeral.
        self.foreign_external_apps = True
        # A group DM of the author with the stranger: the bot is no recipient.
        self.group_dm = self._next_id()
        # A server admin: Manage Server through a role (for /admin).
        self.admin_role = self._next_id()
        self.admin = FakeUser(self._next_id(), "admin", roles=[self.admin_role])
        self.users[self.admin.id] = self.admin
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[str, FakeInteraction] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.requests: list[Recorded] = []
        self.unhandled: list[str] = []
        self.attachments: dict[int, FakeAttachment] = {}
        self._nonces: dict[tuple[int, str], int] = {}
        # Knobs and faults.
        self.upload_limit = DEFAULT_UPLOAD_LIMIT  # channel uploads in the guild
        # The server's language: its preferred_locale, and every interaction's guild_locale.
        self.guild_locale = "en-US"
        # Only a Community server can choose its language; Discord sends "en-US" as every
        # other server's guild_locale. Set before the bot starts (it caches the guild).
        self.community = False
        self.bot_can_manage_messages = True
        self.bot_denied_permissions = 0  # bits taken from the bot's role (`check` tests)
        # (channel id, user id) -> bits a member overwrite denies that member there.
        self.channel_denies: dict[tuple[int, int], int] = {}
        # The next N interaction answers arrive after Discord's 3 s: "Unknown interaction".
        self.late_answers = 0
        # When set, bot-token routes answer 401 to any other token, as Discord does.
        self.token: str | None = None
        self.dm_closed: set[int] = set()
        self.latency = 0.0
        # When set, logging in with any other bot token gets Discord's 401.
        self.bot_token: str | None = None
        self.cdn_latency = 0.0  # seconds each attachment download takes
        self.cdn_in_flight = 0
        self._cdn_released = asyncio.Event()
        self.cdn_peak_in_flight = 0
        self._rate_limits: list[_RateLimit] = []
        # (messages, seconds): Discord's per-channel cap on new messages, with its
        # X-RateLimit headers, as observed (about 5 per 5 s). None: no cap (the default).
        self.channel_post_limit: tuple[int, float] | None = None
        # The next N message posts (channel messages, followups) lose their connection
        # before Discord reads them: the client gets no answer and nothing is posted.
        self.drop_next_posts = 0
        # The next N message posts are made, but their answer is lost on the way back.
        self.lose_next_answers = 0
        # The next N message posts are not made and answer 200 with a body that is not
        # JSON: discord.py then raises neither an HTTP nor a connection error.
        self.garble_next_posts = 0
        self._channel_posts: dict[str, deque[float]] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        # Each connection's [shard_id, shard_count] from its IDENTIFY (unsharded: [0, 1]).
        self._shards: dict[web.WebSocketResponse, tuple[int, int]] = {}
        self._seq = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.identified = asyncio.Event()

    def _next_id(self) -> int:
        return next(self._ids)

    def guild_of(self, channel_id: int) -> int | None:
        """The guild a channel belongs to; None for DMs and group DMs."""
        if channel_id in self.channel_names:
            return self.guild_id
        return self.foreign_guild_id if channel_id == self.foreign_channel else None

    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"
