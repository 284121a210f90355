"""Where an interaction happens, and what Discord offers and allows there.

Four places: the fake's own guild (the bot is a member), the bot's DM, a server that
never added the bot where members use its user install (`foreign_channel`), and a group
DM (`group_dm`). Outside the first two the app has only the interaction's token: no
gateway events, no channel routes, at most five followups, and where the server denies
"Use External Apps" every answer is ephemeral (shared/docs/discord-platform.md,
"Installs and contexts").
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.guild import GuildMixin
from tests.fakes.discord.records import FakeUser, Place
from tests.fakes.discord.wire import (
    ATTACH_FILES,
    BOT_DM_CONTEXT,
    BOT_PERMISSIONS,
    EMBED_LINKS,
    GUILD_CONTEXT,
    GUILD_INSTALL,
    PRIVATE_CHANNEL_CONTEXT,
    SEND_MESSAGES,
    USE_COMMANDS,
    USER_INSTALL,
    VIEW_CHANNEL,
)

# What Discord lets a user-installed app do in a place it is not in (its answers only).
USER_APP_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | USE_COMMANDS


class PlacesMixin(GuildMixin):
    def place_of(self, channel_id: int | None, user: FakeUser, *, dm: bool = False) -> Place:
        """The place of `channel_id` (the guild's general channel by default; the user's
        DM with the bot when `dm`)."""
        if dm or (channel_id is not None and channel_id in self.dm_channels.values()):
            channel = self.dm_channels.setdefault(user.id, self._next_id())
            # A bot DM: the user's install, or a guild install shared with them, offers it.
            return Place(
                BOT_DM_CONTEXT,
                None,
                channel,
                {"1": str(user.id)},
                frozenset({GUILD_INSTALL, USER_INSTALL}),
                member=True,
            )
        if channel_id == self.group_dm:
            return Place(
                PRIVATE_CHANNEL_CONTEXT,
                None,
                channel_id,
                {"1": str(user.id)},
                frozenset({USER_INSTALL}),
                member=False,
            )
        if channel_id == self.foreign_channel:
            return Place(
                GUILD_CONTEXT,
                self.foreign_guild_id,
                channel_id,
                {"1": str(user.id)},
                frozenset({USER_INSTALL}),
                member=False,
                forced_ephemeral=not self.foreign_external_apps,
            )
        return Place(
            GUILD_CONTEXT,
            self.guild_id,
            channel_id or self.general,
            {"0": str(self.guild_id)},
            frozenset({GUILD_INSTALL}),
            member=True,
        )

    def command_for(self, name: str, place: Place) -> dict[str, Any]:
        """The synced command Discord offers as `name` in `place`, as its picker would.

        A guild command only in its own guild; a global one where its
        `integration_types` and `contexts` allow (Discord's defaults: guild install,
        every context). ValueError when Discord would not offer it there.
        """
        for command in self.commands.get(place.guild_id, []) if place.member else []:
            if command["name"] == name and place.context == GUILD_CONTEXT:
                return command
        for command in self.commands.get(None, []):
            if command["name"] != name:
                continue
            installs = set(command.get("integration_types") or [GUILD_INSTALL])
            contexts = command.get("contexts") or [
                GUILD_CONTEXT,
                BOT_DM_CONTEXT,
                PRIVATE_CHANNEL_CONTEXT,
            ]
            if installs & place.installs and place.context in contexts:
                return command
        raise ValueError(f"Discord offers no {name!r} command in {place}")

    def place_payload(self, place: Place, user: FakeUser) -> dict[str, Any]:
        """The interaction's fields that say where it happens and who is there."""
        payload: dict[str, Any] = {
            "channel_id": str(place.channel_id),
            "context": place.context,
            "authorizing_integration_owners": place.owners,
            "app_permissions": str(BOT_PERMISSIONS if place.member else USER_APP_PERMISSIONS),
        }
        if place.context == BOT_DM_CONTEXT:
            channel = {"id": str(place.channel_id), "type": 1, "recipients": [user.payload()]}
            return {**payload, "channel": channel, "user": user.payload()}
        if place.context == PRIVATE_CHANNEL_CONTEXT:
            others = [u.payload() for u in (self.author, self.stranger) if u.id != user.id]
            channel = {
                "id": str(place.channel_id),
                "type": 3,
                "recipients": others,
                "owner_id": str(self.author.id),
                "name": None,
                "icon": None,
                "last_message_id": None,
            }
            return {**payload, "channel": channel, "user": user.payload()}
        foreign = place.guild_id != self.guild_id
        locale = "en-US" if foreign else self.guild_locale
        return {
            **payload,
            "guild_id": str(place.guild_id),
            "guild_locale": locale,
            # The partial guild Discord adds to every interaction in a server.
            "guild": {
                "id": str(place.guild_id),
                "locale": locale,
                "features": [] if foreign else self.guild_features(),
            },
            "channel": self._channel_payload(place.channel_id),
            "member": {
                **self._member_payload(user),
                "permissions": str(self.permissions_of(user, place.channel_id)),
            },
        }

    def gets_events(self, channel_id: int) -> bool:
        """Does the bot hear gateway events (reactions...) from this channel?"""
        return channel_id in self.channel_names or channel_id in self.dm_channels.values()
