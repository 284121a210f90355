"""What the guild looks like to the bot: roles, members, channels, permissions."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.discord.records import FakeUser
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.wire import (
    BOT_PERMISSIONS,
    DEFAULT_UPLOAD_LIMIT,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MEMBER_PERMISSIONS,
    VIEW_CHANNEL,
    _timestamp,
)


class GuildMixin(DiscordState):
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
            "features": self.guild_features(),
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

    def guild_features(self) -> list[str]:
        return ["COMMUNITY", "NEWS"] if self.community else []

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
        overwrites: list[dict[str, Any]] = []
        if channel_id == self.hidden:
            overwrites = [
                {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}
            ]
        overwrites += [
            {"id": str(user_id), "type": 1, "allow": "0", "deny": str(bits)}
            for (channel, user_id), bits in self.channel_denies.items()
            if channel == channel_id
        ]
        foreign = channel_id == self.foreign_channel
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.foreign_guild_id if foreign else self.guild_id),
            "name": "their-channel" if foreign else self.channel_names[channel_id],
            "position": 0,
            "permission_overwrites": overwrites,
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def permissions_of(self, user: FakeUser, channel_id: int | None = None) -> int:
        """The member's permissions (in `channel_id`, with its member overwrites)."""
        if user is self.bot:
            return BOT_PERMISSIONS
        granted = (
            MEMBER_PERMISSIONS
            | (MANAGE_MESSAGES if self.moderator_role in user.roles else 0)
            | (MANAGE_GUILD if self.admin_role in user.roles else 0)
        )
        return granted & ~self.channel_denies.get((channel_id or 0, user.id), 0)
