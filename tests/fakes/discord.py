"""A loopback fake of Discord that the real discord.py client runs against.

A real aiohttp server on 127.0.0.1 speaks the gateway (websocket, JSON text
frames) and the REST routes our flows use, under /api/v10, with a message
store that models what Discord does (see shared/docs/discord-platform.md):
the deferred "thinking" message, edits through the interaction token and the
channel, followups (and the quirk that the first one after a defer edits the
placeholder), replies, reactions, DMs, uploads with size limits, embed limits,
and who gets pinged, derived from content and `allowed_mentions`.

Tests drive it with `invoke`, `click` and `react`, read what users would see
with the helpers at the bottom, and inject faults (expired tokens, 413, 429,
deleted messages, missing access, closed DMs).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from PIL import Image

API = "/api/v10"
EPHEMERAL = 1 << 6
LOADING = 1 << 7
# Permission bits used here.
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
MANAGE_GUILD = 1 << 5
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_HISTORY = 1 << 16
ADD_REACTIONS = 1 << 6
USE_COMMANDS = 1 << 31
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | READ_HISTORY | ADD_REACTIONS | USE_COMMANDS
BOT_PERMISSIONS = MEMBER_PERMISSIONS | EMBED_LINKS | ATTACH_FILES | MANAGE_MESSAGES
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
INTERACTION_ANSWER_SECONDS = 3.0
OPTION_TYPES = {
    "string": 3,
    "integer": 4,
    "boolean": 5,
    "channel": 7,
    "number": 10,
    "attachment": 11,
}
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
# Discord's locales: a localization keyed by anything else is refused (50035).
DISCORD_LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


class DiscordError(Exception):
    """Raised inside handlers; becomes Discord's error JSON."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: discord.py parses nothing else as JSON.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _timestamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}+00:00"


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    roles: list[int] = field(default_factory=list)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None
    width: int | None
    height: int | None
    size: int
    url: str

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            body["content_type"] = self.content_type
        if self.width is not None:
            body["width"], body["height"] = self.width, self.height
        return body


@dataclass
class Edit:
    at: float
    content: str | None
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    via: str  # "interaction" or "channel"


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[FakeAttachment] = field(default_factory=list)
    flags: int = 0
    reference_id: int | None = None
    interaction_token: str | None = None
    created_at: float = field(default_factory=time.monotonic)
    edits: list[Edit] = field(default_factory=list)
    reactions: dict[str, set[int]] = field(default_factory=dict)
    pinged_users: set[int] = field(default_factory=set)
    pinged_roles: set[int] = field(default_factory=set)
    pinged_everyone: bool = False
    deleted: bool = False
    guild_id: int | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def custom_ids(self) -> list[str]:
        return [
            child["custom_id"]
            for row in self.components
            for child in row.get("components", [])
            if "custom_id" in child
        ]

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": _timestamp(time.time()),
            "edited_timestamp": _timestamp(time.time()) if self.edits else None,
            "tts": False,
            "mention_everyone": self.pinged_everyone,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": 19 if self.reference_id else 0,
            "flags": self.flags,
            "reactions": [
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(users),
                    "me": False,
                    "burst_count": 0,
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in self.reactions.items()
                if users
            ],
        }
        if self.guild_id is not None:
            body["guild_id"] = str(self.guild_id)
        if self.reference_id is not None:
            body["message_reference"] = {
                "message_id": str(self.reference_id),
                "channel_id": str(self.channel_id),
            }
        if self.interaction_token is not None:
            body["webhook_id"] = "0"
        return body


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    user: FakeUser
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    created_at: float = field(default_factory=time.monotonic)
    responded_at: float | None = None
    response_type: int | None = None
    ephemeral: bool = False
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    expired: bool = False
    responded: asyncio.Event = field(default_factory=asyncio.Event)
    # The modal the bot answered with (callback type 9): its custom_id, title, components.
    modal: dict[str, Any] | None = None

    @property
    def ack_seconds(self) -> float | None:
        return None if self.responded_at is None else self.responded_at - self.created_at


@dataclass
class Recorded:
    method: str
    path: str
    at: float
    json: Any
    status: int = 0


@dataclass
class _RateLimit:
    path_contains: str
    retry_after: float
    is_global: bool


class FakeDiscord:
    """The server, its state, and the test's handles on both."""

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
        self.bot_can_manage_messages = True
        self.bot_denied_permissions = 0  # bits taken from the bot's role (`check` tests)
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

    # -- life cycle --------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware], client_max_size=512 * 1024 * 1024)
        app.add_routes(
            [
                web.get("/gateway", self._gateway),
                web.get("/cdn/attachments/{id}/{filename}", self._cdn),
                web.route("*", API + "/{tail:.*}", self._rest),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{self._host}:{port}"
        return self.base_url

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"

    async def drop_gateway(self, shard_ids: Collection[int] | None = None) -> None:
        """Close the gateway connections (of these shards; all by default), as when the
        bot process running them dies."""
        for ws in list(self._sockets):
            if shard_ids is None or self._shards.get(ws, (0, 1))[0] in shard_ids:
                await ws.close()
                self._sockets.discard(ws)
        self.identified.clear()

    def shard_of(self, guild_id: int | None, shard_count: int) -> int:
        """The shard Discord sends a guild's events to; DMs go to shard 0."""
        return 0 if guild_id is None else (guild_id >> 22) % shard_count

    # -- gateway -----------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                op = data.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    shard = (data.get("d") or {}).get("shard") or [0, 1]
                    self._shards[ws] = (int(shard[0]), int(shard[1]))
                    await self._identify(ws)
                elif op == 6:
                    # No resume here: ask for a fresh IDENTIFY.
                    await ws.send_str(json.dumps({"op": 9, "d": False}))
        finally:
            self._sockets.discard(ws)
            self._shards.pop(ws, None)
        return ws

    async def _identify(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": (
                [{"id": str(self.guild_id), "unavailable": True}]
                if self._owns(ws, self.guild_id)
                else []
            ),
            "session_id": secrets.token_hex(8),
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "shard": list(self._shards.get(ws, (0, 1))),
        }
        await self._send(ws, "READY", ready)
        # Like Discord: a guild is announced on its own shard only.
        if self._owns(ws, self.guild_id):
            await self._send(ws, "GUILD_CREATE", self._guild_payload())
        self.identified.set()

    def _owns(self, ws: web.WebSocketResponse, guild_id: int | None) -> bool:
        shard_id, count = self._shards.get(ws, (0, 1))
        return self.shard_of(guild_id, count) == shard_id

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        guild = data.get("guild_id")
        # The connection of the event's shard (by its guild; DMs: shard 0), as Discord does.
        targets = [ws for ws in self._sockets if self._owns(ws, int(guild) if guild else None)]
        if not targets:
            raise RuntimeError("the bot is not connected to the fake gateway")
        for ws in targets:
            await self._send(ws, event, data)

    def _guild_payload(self) -> dict[str, Any]:
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "color": 0,
            "hoist": False,
            "position": 0,
            "permissions": str(MEMBER_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        moderator = {
            **everyone,
            "id": str(self.moderator_role),
            "name": "moderator",
            "position": 1,
            "permissions": str(MEMBER_PERMISSIONS | MANAGE_MESSAGES),
        }
        admin = {
            **everyone,
            "id": str(self.admin_role),
            "name": "admin",
            "position": 1,
            "permissions": str(MEMBER_PERMISSIONS | MANAGE_GUILD),
        }
        bot_perms = (
            BOT_PERMISSIONS
            if self.bot_can_manage_messages
            else (BOT_PERMISSIONS & ~MANAGE_MESSAGES)
        ) & ~self.bot_denied_permissions
        bot_role = {
            **everyone,
            "id": str(self._bot_role),
            "name": "animate-bot",
            "position": 2,
            "permissions": str(bot_perms),
            "managed": True,
        }
        return {
            "id": str(self.guild_id),
            "name": "Fake Guild",
            "icon": None,
            "owner_id": str(self.moderator.id),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [everyone, moderator, admin, bot_role],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "premium_tier": {DEFAULT_UPLOAD_LIMIT: 0, 52428800: 2, 104857600: 3}.get(
                self.upload_limit, 0
            ),
            "preferred_locale": self.guild_locale,
            "member_count": len(self.users),
            "members": [self._member_payload(u) for u in self.users.values()],
            "channels": [self._channel_payload(cid) for cid in self.channel_names],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "large": False,
            "unavailable": False,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": _timestamp(time.time()),
        }

    @property
    def _bot_role(self) -> int:
        return self.guild_id + 1

    def _member_payload(self, user: FakeUser) -> dict[str, Any]:
        roles = list(user.roles) + ([self._bot_role] if user is self.bot else [])
        return {
            "user": user.payload(),
            "roles": [str(r) for r in roles],
            "joined_at": _timestamp(time.time()),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
        }

    def _channel_payload(self, channel_id: int) -> dict[str, Any]:
        overwrites = []
        if channel_id == self.hidden:
            overwrites = [
                {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}
            ]
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": self.channel_names[channel_id],
            "position": 0,
            "permission_overwrites": overwrites,
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def permissions_of(self, user: FakeUser) -> int:
        if user is self.bot:
            return BOT_PERMISSIONS
        return (
            MEMBER_PERMISSIONS
            | (MANAGE_MESSAGES if self.moderator_role in user.roles else 0)
            | (MANAGE_GUILD if self.admin_role in user.roles else 0)
        )

    # -- REST plumbing -----------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        record = Recorded(request.method, request.path, time.monotonic(), None)
        self.requests.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            response = await handler(request)
        except DiscordError as exc:
            response = _json({"message": exc.message, "code": exc.code}, status=exc.status)
        record.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment = self.attachments.get(int(request.match_info["id"]))
        if attachment is None:
            return web.Response(status=404)
        self.cdn_in_flight += 1
        self.cdn_peak_in_flight = max(self.cdn_peak_in_flight, self.cdn_in_flight)
        try:
            if self.cdn_latency:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cdn_released.wait(), self.cdn_latency)
        finally:
            self.cdn_in_flight -= 1
        return web.Response(
            body=attachment.data, content_type=attachment.content_type or "application/octet-stream"
        )

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API) :]
        limited = self._take_rate_limit(path)
        if limited is not None:
            return limited
        posted_in = _CHANNEL_POST.fullmatch(path) if request.method == "POST" else None
        if (
            self.drop_next_posts
            and request.method == "POST"
            and (posted_in or _FOLLOWUP_POST.fullmatch(path))
        ):
            self.drop_next_posts -= 1
            assert request.transport is not None
            request.transport.close()  # no answer at all: a reset connection
            return web.Response(status=500)  # never reaches the client
        cid = posted_in["cid"] if posted_in else None
        window = self._channel_window(cid) if cid else None
        if window is not None and window[0] <= 0:
            return self._channel_limited(window[1])
        response = await self._route(request, path)
        if (
            self.lose_next_answers
            and request.method == "POST"
            and (posted_in or _FOLLOWUP_POST.fullmatch(path))
        ):
            self.lose_next_answers -= 1
            assert request.transport is not None
            request.transport.close()  # posted, but the client never hears so
            return response
        if cid and window is not None and self.channel_post_limit is not None:
            self._channel_posts[cid].append(time.monotonic())
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(self.channel_post_limit[0]),
                    "X-RateLimit-Remaining": str(window[0] - 1),
                    "X-RateLimit-Reset-After": f"{window[1]:.3f}",
                    "X-RateLimit-Bucket": f"channel-{cid}",
                }
            )
        return response

    def _channel_window(self, channel_id: str) -> tuple[int, float] | None:
        """Messages the channel still takes in its window, and when the window resets."""
        if self.channel_post_limit is None:
            return None
        limit, seconds = self.channel_post_limit
        now = time.monotonic()
        posts = self._channel_posts.setdefault(channel_id, deque())
        while posts and posts[0] <= now - seconds:
            posts.popleft()
        reset = posts[0] + seconds - now if posts else seconds
        return limit - len(posts), reset

    def _channel_limited(self, reset_after: float) -> web.Response:
        assert self.channel_post_limit is not None
        headers = {
            "Via": "1.1 google",
            "Retry-After": f"{reset_after:.3f}",
            "X-RateLimit-Scope": "user",
            "X-RateLimit-Limit": str(self.channel_post_limit[0]),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        body = {"message": "You are being rate limited.", "retry_after": reset_after}
        return _json({**body, "global": False}, status=429, headers=headers)

    async def _route(self, request: web.Request, path: str) -> web.StreamResponse:
        bot_token_route = not path.startswith(("/interactions/", "/webhooks/"))
        if bot_token_route and self.token not in (None, _bot_token(request)):
            raise DiscordError(401, 0, "401: Unauthorized")
        body, files = await self._read_body(request)
        self.requests[-1].json = body
        for pattern, method, handler in self._routes():
            match = pattern.fullmatch(path)
            if match and method == request.method:
                result = await handler(request, body, files, **match.groupdict())
                if isinstance(result, web.StreamResponse):
                    return result
                return _json(result) if result is not None else web.Response(status=204)
        self.unhandled.append(f"{request.method} {path}")
        raise DiscordError(404, 0, "404: Not Found")

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., Any]]]:
        s = r"(?P<{}>\d+)"
        table = [
            ("/gateway/bot", "GET", self._get_gateway),
            ("/users/@me", "GET", self._get_me),
            ("/oauth2/applications/@me", "GET", self._get_application),
            (f"/applications/{s.format('app')}/commands", "PUT", self._put_commands),
            (
                f"/applications/{s.format('app')}/guilds/{s.format('guild')}/commands",
                "PUT",
                self._put_commands,
            ),
            (f"/interactions/{s.format('iid')}/(?P<token>[^/]+)/callback", "POST", self._callback),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "PATCH",
                self._webhook_edit,
            ),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "GET",
                self._webhook_get,
            ),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "DELETE",
                self._webhook_delete,
            ),
            (f"/webhooks/{s.format('app')}/(?P<token>[^/]+)", "POST", self._followup),
            (f"/channels/{s.format('cid')}", "GET", self._get_channel),
            (f"/channels/{s.format('cid')}/messages", "POST", self._channel_send),
            (f"/channels/{s.format('cid')}/messages/{s.format('mid')}", "GET", self._channel_get),
            (f"/channels/{s.format('cid')}/messages", "GET", self._channel_history),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}",
                "PATCH",
                self._channel_edit,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}",
                "DELETE",
                self._channel_delete,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}/reactions/(?P<emoji>[^/]+)/"
                "(?P<who>@me|\\d+)",
                "PUT",
                self._react,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}/reactions/(?P<emoji>[^/]+)/"
                "(?P<who>@me|\\d+)",
                "DELETE",
                self._unreact,
            ),
            ("/users/@me/channels", "POST", self._open_dm),
            (f"/users/{s.format('uid')}", "GET", self._get_user),
            (f"/guilds/{s.format('gid')}", "GET", self._get_guild),
            (f"/guilds/{s.format('gid')}/members/{s.format('uid')}", "GET", self._get_member),
        ]
        return [(re.compile(p), m, h) for p, m, h in table]

    async def _read_body(
        self, request: web.Request
    ) -> tuple[dict[str, Any] | None, list[tuple[str, bytes, str | None]]]:
        if not request.can_read_body:
            return None, []
        raw = await request.read()
        content_type = request.headers.get(aiohttp.hdrs.CONTENT_TYPE, "")
        if content_type.lower().startswith("multipart/"):
            return _form_parts(raw, content_type)
        return (json.loads(raw) if raw else None), []

    def _take_rate_limit(self, path: str) -> web.Response | None:
        for limit in self._rate_limits:
            if limit.path_contains in path:
                self._rate_limits.remove(limit)
                headers = {
                    # discord.py only retries a 429 that came through Discord's proxy.
                    "Via": "1.1 google",
                    "Retry-After": str(limit.retry_after),
                    "X-RateLimit-Scope": "global" if limit.is_global else "user",
                }
                if limit.is_global:
                    headers["X-RateLimit-Global"] = "true"
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": limit.retry_after,
                        "global": limit.is_global,
                    },
                    status=429,
                    headers=headers,
                )
        return None

    # -- REST: identity and commands ---------------------------------------

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

    # -- REST: interactions ------------------------------------------------

    def _interaction(self, token: str) -> FakeInteraction:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.expired:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return interaction

    async def _callback(
        self, request: web.Request, body: Any, files: Any, iid: str, token: str
    ) -> dict[str, Any]:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.id != int(iid):
            raise DiscordError(404, 10062, "Unknown interaction")
        if time.monotonic() - interaction.created_at > INTERACTION_ANSWER_SECONDS:
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        kind = body["type"]
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message: FakeMessage | None = None
        if kind in (4, 5):
            if kind == 5:
                flags |= LOADING
            message = self._create_message(
                interaction.channel_id,
                data,
                files,
                flags=flags,
                via_token=interaction.token,
                limit=interaction.payload["attachment_size_limit"],
            )
            interaction.original_id = message.id
            interaction.ephemeral = bool(flags & EPHEMERAL)
        elif kind == 7:
            target = self._message(int(interaction.payload["message"]["id"]))
            self._apply_edit(
                target,
                data,
                files,
                via="interaction",
                limit=interaction.payload["attachment_size_limit"],
            )
            message = target
            # Discord: a component interaction's @original is the message it updated.
            if interaction.original_id is None:
                interaction.original_id = target.id
        elif kind == 9:
            _check_modal(data)
            interaction.modal = data
        interaction.response_type = kind
        interaction.responded_at = time.monotonic()
        interaction.responded.set()
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            }
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = str(message.id)
            answer["resource"] = {"type": kind, "message": message.payload()}
        return answer

    def _original(self, interaction: FakeInteraction, mid: str) -> FakeMessage:
        message_id = interaction.original_id if mid == "@original" else int(mid)
        if message_id is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return self._message(message_id)

    async def _webhook_edit(
        self, request: web.Request, body: Any, files: Any, app: str, token: str, mid: str
    ) -> dict[str, Any]:
        interaction = self._interaction(token)
        message = self._original(interaction, mid)
        self._apply_edit(
            message,
            body or {},
            files,
            via="interaction",
            limit=interaction.payload["attachment_size_limit"],
        )
        return message.payload()

    async def _webhook_get(
        self, request: web.Request, body: Any, files: Any, app: str, token: str, mid: str
    ) -> dict[str, Any]:
        return self._original(self._interaction(token), mid).payload()

    async def _webhook_delete(
        self, request: web.Request, body: Any, files: Any, app: str, token: str, mid: str
    ) -> None:
        self._original(self._interaction(token), mid).deleted = True

    async def _followup(
        self, request: web.Request, body: Any, files: Any, app: str, token: str
    ) -> dict[str, Any]:
        interaction = self._interaction(token)
        body = body or {}
        limit = interaction.payload["attachment_size_limit"]
        original = self.messages.get(interaction.original_id or 0)
        if original is not None and original.loading and not original.deleted:
            # Discord's old behaviour: the first followup after a defer edits the placeholder.
            self._apply_edit(original, body, files, via="interaction", limit=limit)
            interaction.followup_ids.append(original.id)
            return original.payload()
        message = self._create_message(
            interaction.channel_id,
            body,
            files,
            flags=int(body.get("flags") or 0),
            via_token=token,
            limit=limit,
        )
        interaction.followup_ids.append(message.id)
        return message.payload()

    # -- REST: channels ----------------------------------------------------

    def _check_channel(self, channel_id: int) -> None:
        if channel_id == self.hidden:
            raise DiscordError(403, 50001, "Missing Access")
        if channel_id not in self.channel_names and channel_id not in self.dm_channels.values():
            raise DiscordError(404, 10003, "Unknown Channel")

    def _message(self, message_id: int) -> FakeMessage:
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

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

    # -- the message store -------------------------------------------------

    def _create_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str | None]],
        *,
        flags: int,
        via_token: str | None,
        limit: int,
    ) -> FakeMessage:
        attachments = self._upload(files, body.get("attachments"), [], limit)
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
        components = body.get("components") or []
        _check_message_limits(content, embeds)
        if not (content or embeds or attachments or components or flags & LOADING):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        reference_id = self._reference(body.get("message_reference"))
        message = FakeMessage(
            id=self._next_id(),
            channel_id=channel_id,
            author=self.bot,
            content=content,
            embeds=embeds,
            components=components,
            attachments=attachments,
            flags=flags,
            reference_id=reference_id,
            interaction_token=via_token,
            guild_id=self.guild_id if channel_id in self.channel_names else None,
        )
        self._compute_pings(message, body.get("allowed_mentions"))
        self.messages[message.id] = message
        return message

    def _reference(self, reference: dict[str, Any] | None) -> int | None:
        if not reference or not reference.get("message_id"):
            return None
        target = self.messages.get(int(reference["message_id"]))
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise DiscordError(400, 50035, "Invalid Form Body: Unknown message")
            return None
        return target.id

    def _apply_edit(
        self,
        message: FakeMessage,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str | None]],
        *,
        via: str,
        limit: int,
    ) -> None:
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = body["components"] or []
        if "attachments" in body or files:
            message.attachments = self._upload(
                files, body.get("attachments"), message.attachments, limit
            )
        _check_message_limits(message.content, message.embeds)
        message.flags &= ~LOADING
        message.edits.append(
            Edit(
                time.monotonic(),
                message.content,
                list(message.embeds),
                list(message.components),
                via,
            )
        )

    def _upload(
        self,
        files: list[tuple[str, bytes, str | None]],
        listed: list[dict[str, Any]] | None,
        existing: list[FakeAttachment],
        limit: int,
    ) -> list[FakeAttachment]:
        """`attachments` semantics: listed existing ids are kept, new files are added."""
        for _, data, _ in files:
            if len(data) > limit:
                raise DiscordError(413, 40005, "Request entity too large")
        kept_ids = {int(a["id"]) for a in (listed or []) if str(a.get("id", "")).isdigit()}
        result = [a for a in existing if listed is None or a.id in kept_ids]
        for filename, data, content_type in files:
            attachment_id = self._next_id()
            width = height = None
            try:
                with Image.open(io.BytesIO(data)) as img:
                    width, height = img.size
            except Exception:  # not an image: no dimensions, as on Discord
                pass
            attachment = FakeAttachment(
                id=attachment_id,
                filename=filename,
                data=data,
                content_type=content_type,
                width=width,
                height=height,
                size=len(data),
                url=f"{self.base_url}/cdn/attachments/{attachment_id}/{filename}"
                f"?ex=ffffffff&is=0&hm={secrets.token_hex(8)}",
            )
            self.attachments[attachment_id] = attachment
            result.append(attachment)
        return result

    def _compute_pings(self, message: FakeMessage, allowed: dict[str, Any] | None) -> None:
        """Who Discord would notify: mentions in the content, filtered by allowed_mentions."""
        content = message.content
        users = {int(u) for u in _USER_MENTION.findall(content)}
        roles = {int(r) for r in _ROLE_MENTION.findall(content)}
        everyone = "@everyone" in content or "@here" in content
        replied_user = True
        if allowed is not None:
            parse = set(allowed.get("parse") or [])
            explicit_users = {int(u) for u in allowed.get("users") or []}
            explicit_roles = {int(r) for r in allowed.get("roles") or []}
            users = users if "users" in parse else users & explicit_users
            roles = roles if "roles" in parse else roles & explicit_roles
            everyone = everyone and "everyone" in parse
            replied_user = bool(allowed.get("replied_user", False))
        if message.reference_id is not None and replied_user:
            users.add(self.messages[message.reference_id].author.id)
        message.pinged_users = users - {self.bot.id}
        message.pinged_roles = roles
        message.pinged_everyone = everyone

    # -- test surface: acting as users -------------------------------------

    def add_user(self, name: str) -> FakeUser:
        """Another member of the guild (add before the bot connects to see it cached)."""
        user = FakeUser(self._next_id(), name)
        self.users[user.id] = user
        return user

    def add_cdn_file(
        self, data: bytes, filename: str, content_type: str | None = None
    ) -> FakeAttachment:
        attachment = self._upload([(filename, data, content_type)], None, [], 1 << 40)[0]
        return attachment

    async def invoke(
        self,
        command: str,
        *,
        user: FakeUser | None = None,
        channel: int | None = None,
        dm: bool = False,
        attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
        attachment_meta: dict[str, Any] | None = None,
        locale: str = "en-US",
        **options: Any,
    ) -> FakeInteraction:
        """Dispatch a slash command as Discord would, options typed by the synced schema."""
        user = user or self.author
        names = command.split()
        schema = self.command(names[0])
        resolved: dict[str, Any] = {}
        option_list = self._build_options(
            schema, names[1:], options, resolved, attachment_meta, user
        )
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": names[0],
            "type": 1,
            "options": option_list,
        }
        if resolved:
            data["resolved"] = resolved
        return await self._dispatch_interaction(
            2, user, channel, dm, data, attachment_size_limit, locale
        )

    def _build_options(
        self,
        schema: dict[str, Any],
        path: list[str],
        values: dict[str, Any],
        resolved: dict[str, Any],
        meta: dict[str, Any] | None,
        user: FakeUser,
    ) -> list[dict[str, Any]]:
        declared = {o["name"]: o for o in schema.get("options", [])}
        if path:
            sub = declared[path[0]]
            return [
                {
                    "name": path[0],
                    "type": sub["type"],
                    "options": self._build_options(sub, path[1:], values, resolved, meta, user),
                }
            ]
        built = []
        for name, value in values.items():
            if name not in declared:
                raise ValueError(f"/{schema['name']} has no option {name!r}")
            option = declared[name]
            _check_option(option, value)
            if option["type"] == OPTION_TYPES["attachment"]:
                attachment = self._option_attachment(value, name, meta or {})
                resolved.setdefault("attachments", {})[str(attachment.id)] = {
                    **attachment.payload(),
                    **(meta or {}),
                }
                value = str(attachment.id)
            elif option["type"] == OPTION_TYPES["channel"]:
                # The client sends the id; Discord resolves the channel with the
                # invoking member's permissions there.
                channel = {
                    **self._channel_payload(int(value)),
                    "permissions": str(self.permissions_of(user)),
                }
                resolved.setdefault("channels", {})[str(value)] = channel
                value = str(value)
            built.append({"name": name, "type": option["type"], "value": value})
        missing = [n for n, o in declared.items() if o.get("required") and n not in values]
        if missing:
            raise ValueError(f"Discord would not send /{schema['name']} without {missing}")
        return built

    def _option_attachment(self, value: Any, name: str, meta: dict[str, Any]) -> FakeAttachment:
        if isinstance(value, FakeAttachment):
            return value
        filename = meta.get("filename", f"{name}.png")
        content_type = meta.get("content_type", _sniff_type(value))
        return self.add_cdn_file(value, filename, content_type)

    def post(
        self,
        content: str = "",
        *,
        user: FakeUser | None = None,
        channel: int | None = None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> FakeMessage:
        """A user posts a message, maybe with attachments (what a context menu acts on)."""
        user = user or self.author
        attachments = [self.add_cdn_file(data, name, _sniff_type(data)) for name, data in files]
        channel_id = channel or self.general
        message = FakeMessage(
            id=self._next_id(),
            channel_id=channel_id,
            author=user,
            content=content,
            attachments=attachments,
            guild_id=self.guild_id if channel_id in self.channel_names else None,
        )
        self.messages[message.id] = message
        return message

    async def invoke_message_command(
        self,
        name: str,
        target: FakeMessage,
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Pick an app's entry in a message's context menu ("Apps" > name)."""
        schema = self.command(name)
        if schema.get("type") != 3:
            raise ValueError(f"{name!r} is not a message command")
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.payload()}},
        }
        return await self._dispatch_interaction(
            2,
            user or self.author,
            target.channel_id,
            target.guild_id is None,
            data,
            DEFAULT_UPLOAD_LIMIT,
            locale,
        )

    async def submit_modal(
        self,
        shown: FakeInteraction,
        values: dict[str, Any] | None = None,
        *,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Fill in and send the modal the bot showed on `shown`.

        `values` maps a text input's custom_id to its text, a select's to the values
        picked; anything left out keeps what the bot prefilled (or its defaults).
        """
        if shown.modal is None:
            raise ValueError("the bot showed no modal on this interaction")
        values = values or {}
        components: list[dict[str, Any]] = []
        for row in shown.modal["components"]:
            children = row["components"] if row["type"] == 1 else [row["component"]]
            answered = [_modal_answer(child, values) for child in children]
            if row["type"] == 1:
                components.append({"type": 1, "components": answered})
            else:
                components.append({"type": 18, "component": answered[0]})
        data = {"custom_id": shown.modal["custom_id"], "components": components}
        return await self._dispatch_interaction(
            5,
            shown.user,
            shown.channel_id,
            shown.guild_id is None,
            data,
            DEFAULT_UPLOAD_LIMIT,
            locale,
        )

    async def click(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Press a button (or pick in a select menu) on a message."""
        user = user or self.author
        component_type = 2 if values is None else 3
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(
            3,
            user,
            message.channel_id,
            message.guild_id is None,
            data,
            DEFAULT_UPLOAD_LIMIT,
            locale,
            message=message,
        )

    async def _dispatch_interaction(
        self,
        kind: int,
        user: FakeUser,
        channel: int | None,
        dm: bool,
        data: dict[str, Any],
        size_limit: int,
        locale: str,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        token = "ix-" + secrets.token_urlsafe(24)
        interaction_id = self._next_id()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "locale": locale,
            "attachment_size_limit": size_limit,
            "app_permissions": str(BOT_PERMISSIONS),
            "entitlements": [],
        }
        if dm:
            channel_id = self.dm_channels.setdefault(user.id, self._next_id())
            payload.update(
                channel_id=str(channel_id),
                channel={"id": str(channel_id), "type": 1, "recipients": [user.payload()]},
                user=user.payload(),
                context=1,
                authorizing_integration_owners={"1": str(user.id)},
            )
            guild_id = None
        else:
            channel_id = channel or self.general
            payload.update(
                guild_id=str(self.guild_id),
                guild_locale=self.guild_locale,
                channel_id=str(channel_id),
                channel=self._channel_payload(channel_id),
                member={
                    **self._member_payload(user),
                    "permissions": str(self.permissions_of(user)),
                },
                context=0,
                authorizing_integration_owners={"0": str(self.guild_id)},
            )
            guild_id = self.guild_id
        if message is not None:
            payload["message"] = message.payload()
        interaction = FakeInteraction(
            interaction_id, token, kind, user, channel_id, guild_id, payload
        )
        self.interactions[token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def react(
        self, message: FakeMessage, *, user: FakeUser | None = None, emoji: str = "❌"
    ) -> None:
        """A user adds a reaction; the bot hears MESSAGE_REACTION_ADD."""
        user = user or self.author
        message.reactions.setdefault(emoji, set()).add(user.id)
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
            "message_author_id": str(message.author.id),
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            data["member"] = self._member_payload(user)
        await self.dispatch("MESSAGE_REACTION_ADD", data)

    # -- test surface: faults ----------------------------------------------

    def expire(self, interaction: FakeInteraction) -> None:
        """Fifteen minutes have passed: every webhook route of this token answers 401."""
        interaction.expired = True

    def rate_limit_once(
        self, path_contains: str, *, retry_after: float = 0.05, is_global: bool = False
    ) -> None:
        self._rate_limits.append(_RateLimit(path_contains, retry_after, is_global))

    def release_cdn(self) -> None:
        """Downloads stalled by `cdn_latency` end now (so a test need not wait them out)."""
        self.cdn_latency = 0.0
        self._cdn_released.set()
        self._cdn_released = asyncio.Event()

    def delete(self, message: FakeMessage) -> None:
        message.deleted = True

    # -- test surface: reading what users see ------------------------------

    async def wait_for(self, predicate: Callable[[], Any], *, within: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy, waking on every request the fake serves.

        It also looks again every 50 ms, for predicates on the bot's own state.
        """

        async def wait() -> Any:
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        return await asyncio.wait_for(wait(), within)

    def channel_messages(self, channel_id: int | None = None) -> list[FakeMessage]:
        channel_id = channel_id or self.general
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and not m.ephemeral
        ]

    def visible_to(self, user: FakeUser) -> list[FakeMessage]:
        """Every live message the user can see: public ones and their own ephemeral ones."""
        own = {
            mid
            for i in self.interactions.values()
            if i.user.id == user.id
            for mid in [i.original_id, *i.followup_ids]
            if mid
        }
        return [
            m for m in self.messages.values() if not m.deleted and (not m.ephemeral or m.id in own)
        ]

    def dms(self, user: FakeUser) -> list[FakeMessage]:
        channel_id = self.dm_channels.get(user.id)
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def pinged(self) -> dict[int, set[int]]:
        """Message id -> users it notified (everyone/roles expanded to all members)."""
        result: dict[int, set[int]] = {}
        members = {u.id for u in self.users.values() if not u.bot}
        for message in self.messages.values():
            users = set(message.pinged_users)
            if message.pinged_everyone:
                users |= members
            for role in message.pinged_roles:
                users |= {u.id for u in self.users.values() if role in u.roles}
            if users:
                result[message.id] = users
        return result

    def count(self, method: str, path_contains: str) -> int:
        return sum(1 for r in self.requests if r.method == method and path_contains in r.path)

    def peak_requests_per_second(self) -> int:
        """The most REST requests served in any one-second window."""
        return int(peak_per_second([r.at for r in self.requests]))

    def reset(self) -> None:
        self.messages.clear()
        self.interactions.clear()
        self.requests.clear()
        self.unhandled.clear()
        self._rate_limits.clear()
        self.dm_closed.clear()
        self.cdn_latency = 0.0
        self.cdn_peak_in_flight = 0


def peak_per_second(times: list[float], window: float = 1.0) -> float:
    """The most events in any `window` seconds, per second."""
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best / window


_CHANNEL_POST = re.compile(r"/channels/(?P<cid>\d+)/messages")
_FOLLOWUP_POST = re.compile(r"/webhooks/\d+/[^/]+")


def _bot_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme == "Bot" else None


def _emoji(raw: str) -> str:
    from urllib.parse import unquote

    return unquote(raw)


def _sniff_type(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return Image.MIME.get(str(img.format))
    except Exception:
        return "application/octet-stream"


def _check_command_texts(command: dict[str, Any]) -> None:
    """What Discord refuses in a command, an option or a choice, localizations included."""

    def invalid(what: str) -> DiscordError:
        return DiscordError(400, 50035, f"Invalid Form Body: {what}")

    def check(item: dict[str, Any], name_limit: int, lowercase: bool) -> None:
        names = [item["name"], *(item.get("name_localizations") or {}).values()]
        descriptions = [item.get("description", "")]
        descriptions += (item.get("description_localizations") or {}).values()
        for locale in {
            **(item.get("name_localizations") or {}),
            **(item.get("description_localizations") or {}),
        }:
            if locale not in DISCORD_LOCALES:
                raise invalid(f"unknown locale {locale!r}")
        for name in names:
            if not 1 <= len(name) <= name_limit:
                raise invalid(f"name {name!r} length")
            if lowercase and (not _COMMAND_NAME.match(name) or name != name.lower()):
                raise invalid(f"name {name!r}")
        for description in descriptions:
            if len(description) > 100:
                raise invalid(f"description {description!r} longer than 100")
        for option in item.get("options", []):
            check(option, 32, True)
        for choice in item.get("choices", []):
            check(choice, 100, False)

    # Context menu commands (types 2 and 3) have no description; their names are
    # what the menu shows: capitals and spaces allowed.
    check(command, 32, command.get("type", 1) == 1)


def _check_option(option: dict[str, Any], value: Any) -> None:
    """What the Discord client enforces before sending: choices, ranges, lengths."""
    choices = [c["value"] for c in option.get("choices", [])]
    if choices and value not in choices:
        raise ValueError(f"{value!r} is not a choice of {option['name']}")
    if "min_value" in option and value < option["min_value"]:
        raise ValueError(f"{option['name']} below its minimum")
    if "max_value" in option and value > option["max_value"]:
        raise ValueError(f"{option['name']} above its maximum")
    if "max_length" in option and len(value) > option["max_length"]:
        raise ValueError(f"{option['name']} longer than {option['max_length']}")


def _check_message_limits(content: str, embeds: list[dict[str, Any]]) -> None:
    problems = []
    if len(content) > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(title) + len(description) + len(footer) + len(author)
        if len(title) > 256:
            problems.append("embed title over 256")
        if len(description) > 4096:
            problems.append("embed description over 4096")
        if len(fields) > 25:
            problems.append("embed has over 25 fields")
        if len(footer) > 2048:
            problems.append("embed footer over 2048")
        for item in fields:
            total += len(item.get("name", "")) + len(item.get("value", ""))
            if len(item.get("name", "")) > 256 or len(item.get("value", "")) > 1024:
                problems.append("embed field over its limit")
            if not item.get("name") or not item.get("value"):
                problems.append("embed field empty")
    if total > 6000:
        problems.append("embeds over 6000 characters in total")
    if problems:
        raise DiscordError(400, 50035, "Invalid Form Body: " + "; ".join(problems))


def _check_modal(data: dict[str, Any]) -> None:
    """What Discord refuses in a modal: a long title, too many or unknown components."""
    if not 1 <= len(data.get("title", "")) <= 45:
        raise DiscordError(400, 50035, "Invalid Form Body: modal title")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        raise DiscordError(400, 50035, "Invalid Form Body: modal components")
    for row in rows:
        if row["type"] not in (1, 18):
            raise DiscordError(400, 50035, "Invalid Form Body: modal component type")
        if row["type"] == 18 and not 1 <= len(row.get("label", "")) <= 45:
            raise DiscordError(400, 50035, "Invalid Form Body: label")


def _modal_answer(child: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    custom_id = child["custom_id"]
    if child["type"] == 4:  # text input
        value = values.get(custom_id, child.get("value", ""))
        if child.get("required", True) and not value:
            raise ValueError(f"Discord would not send the modal without {custom_id!r}")
        if len(value) > child.get("max_length", 4000):
            raise ValueError(f"{custom_id!r} is longer than Discord allows")
        return {"type": 4, "custom_id": custom_id, "value": value}
    picked = values.get(custom_id)
    if picked is None:
        picked = [o["value"] for o in child.get("options", []) if o.get("default")]
    allowed = {o["value"] for o in child.get("options", [])}
    if not set(picked) <= allowed:
        raise ValueError(f"{picked!r} is not among the options of {custom_id!r}")
    return {"type": child["type"], "custom_id": custom_id, "values": list(picked)}


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'\b(name|filename)="((?:[^"\\]|\\.)*)"')


def _form_parts(
    raw: bytes, content_type: str
) -> tuple[dict[str, Any], list[tuple[str, bytes, str | None]]]:
    """discord.py's form (`payload_json`, `files[n]`), split by hand: aiohttp's
    MultipartReader parses every header with the email package, 2 ms a request and a
    quarter of this fake's CPU in a 1,000-command burst (Discord's, not the bot's)."""
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        raise DiscordError(400, 50035, "Invalid Form Body")
    payload: dict[str, Any] = {}
    files: list[tuple[str, bytes, str | None]] = []
    delimiter = b"\r\n--" + boundary.group(1).encode()
    for part in (b"\r\n" + raw).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, _, body = part.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        params = {
            key: re.sub(r"\\(.)", r"\1", value)
            for key, value in _DISPOSITION.findall(headers.get("content-disposition", ""))
        }
        field, filename = params.get("name"), params.get("filename")
        if field == "payload_json":
            payload = json.loads(body)
        elif field and field.startswith("files[") and filename:
            files.append((filename, body, headers.get("content-type")))
    return payload, files
