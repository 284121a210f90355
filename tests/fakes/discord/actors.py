"""Acting as users: commands, context menus, modals, buttons, posts and reactions."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
from typing import Any

from PIL import Image

from tests.fakes.discord.checks import _check_option, _modal_answer
from tests.fakes.discord.gateway import GatewayMixin
from tests.fakes.discord.identity import IdentityMixin
from tests.fakes.discord.messages import MessageStore
from tests.fakes.discord.places import PlacesMixin
from tests.fakes.discord.records import (
    FakeAttachment,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    Place,
)
from tests.fakes.discord.wire import DEFAULT_UPLOAD_LIMIT, OPTION_TYPES


class ActorsMixin(GatewayMixin, IdentityMixin, PlacesMixin, MessageStore):
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
        """Dispatch a slash command as Discord would, options typed by the synced schema.

        `channel` may be one of the guild's, `foreign_channel` (a server that never
        added the bot: its user install) or `group_dm`; `dm` is the bot's DM.
        """
        user = user or self.author
        names = command.split()
        place = self.place_of(channel, user, dm=dm)
        schema = self.command_for(names[0], place)
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
        return await self._dispatch_interaction(2, user, place, data, attachment_size_limit, locale)

    async def autocomplete(
        self,
        command: str,
        focused: str,
        typed: str = "",
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
        **options: Any,
    ) -> list[dict[str, Any]]:
        """What the bot suggests for option `focused` while `typed` is in it, with the other
        `options` filled in as a user would have them; [] when it answers nothing in time."""
        user = user or self.author
        schema = self.command(command)
        declared = {o["name"]: o for o in schema.get("options", [])}
        if focused not in declared or not declared[focused].get("autocomplete"):
            raise ValueError(f"/{command} has no autocomplete option {focused!r}")
        sent = [
            {"name": name, "type": declared[name]["type"], "value": value}
            for name, value in options.items()
        ]
        # Discord sends the focused option as typed so far: a string, whatever its type.
        sent.append(
            {"name": focused, "type": declared[focused]["type"], "value": typed, "focused": True}
        )
        data = {"id": schema["id"], "name": command, "type": 1, "options": sent}
        interaction = await self._dispatch_interaction(
            4, user, self.place_of(None, user), data, DEFAULT_UPLOAD_LIMIT, locale
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                await interaction.responded.wait()
        return interaction.choices or []

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
            guild_id=self.guild_of(channel_id),
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
        user = user or self.author
        place = self.place_of(target.channel_id, user)
        schema = self.command_for(name, place)
        if schema.get("type") != 3:
            raise ValueError(f"{name!r} is not a message command")
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.payload()}},
        }
        return await self._dispatch_interaction(2, user, place, data, DEFAULT_UPLOAD_LIMIT, locale)

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
        place = self.place_of(shown.channel_id, shown.user)
        return await self._dispatch_interaction(
            5, shown.user, place, data, DEFAULT_UPLOAD_LIMIT, locale
        )

    async def click(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
        attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
    ) -> FakeInteraction:
        """Press a button (or pick in a select menu) on a message."""
        user = user or self.author
        component_type = 2 if values is None else 3
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        place = self.place_of(message.channel_id, user)
        return await self._dispatch_interaction(
            3, user, place, data, attachment_size_limit, locale, message=message
        )

    async def _dispatch_interaction(
        self,
        kind: int,
        user: FakeUser,
        place: Place,
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
            "entitlements": [],
            **self.place_payload(place, user),
        }
        if message is not None:
            payload["message"] = message.payload()
        interaction = FakeInteraction(
            interaction_id,
            token,
            kind,
            user,
            place.channel_id,
            place.guild_id,
            payload,
            place=place,
        )
        self.interactions[token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def react(
        self, message: FakeMessage, *, user: FakeUser | None = None, emoji: str = "❌"
    ) -> None:
        """A user adds a reaction; the bot hears MESSAGE_REACTION_ADD where it is a member."""
        user = user or self.author
        message.reactions.setdefault(emoji, set()).add(user.id)
        if not self.gets_events(message.channel_id):
            return  # no gateway events from places the bot is not in
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


def _sniff_type(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return Image.MIME.get(str(img.format))
    except Exception:
        return "application/octet-stream"
