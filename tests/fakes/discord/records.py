"""What the fake keeps and tests read: users, messages, attachments, interactions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.discord.wire import EPHEMERAL, LOADING, SPOILER_FLAG, _timestamp


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
    flags: int = 0

    @property
    def spoiler(self) -> bool:
        """Shown blurred until clicked: flagged so, or uploaded with Discord's SPOILER_ name."""
        return bool(self.flags & SPOILER_FLAG) or self.filename.startswith("SPOILER_")

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "flags": self.flags,
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


@dataclass(frozen=True)
class Place:
    """Where an interaction happens, and what that means for the app there."""

    context: int  # 0 a guild, 1 the bot's DM, 2 a group DM (or a DM between others)
    guild_id: int | None
    channel_id: int
    owners: dict[str, str]  # authorizing_integration_owners: install type -> owner id
    # Installs that may offer a command here (a guild install; a user's).
    installs: frozenset[int]
    # The bot is there: gateway events come, its channel routes work, followups are free.
    member: bool
    # "Use External Apps" denied: everything the interaction posts is ephemeral.
    forced_ephemeral: bool = False


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
    # The suggestions the bot answered an autocomplete with (callback type 8).
    choices: list[dict[str, Any]] | None = None
    place: Place | None = None
    # Followups Discord refused (past its five where the app is not a member).
    refused_followups: int = 0

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
