"""The message store: messages made and edited as Discord does, uploads, who gets pinged."""

from __future__ import annotations

import io
import re
import secrets
import time
from typing import Any

from PIL import Image

from tests.fakes.discord.checks import _check_message_limits
from tests.fakes.discord.records import Edit, FakeAttachment, FakeMessage
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.wire import LOADING, SPOILER_FLAG, DiscordError

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class MessageStore(DiscordState):
    def _message(self, message_id: int) -> FakeMessage:
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

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
            guild_id=self.guild_of(channel_id),
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
        """`attachments` semantics: listed existing ids are kept, new files are added.

        A kept attachment listed with `spoiler` is marked (or unmarked) as a spoiler, as
        Discord allows since June 2026.
        """
        for _, data, _ in files:
            if len(data) > limit:
                raise DiscordError(413, 40005, "Request entity too large")
        entries = {int(a["id"]): a for a in (listed or []) if str(a.get("id", "")).isdigit()}
        result = [a for a in existing if listed is None or a.id in entries]
        for kept in result:
            spoiler = entries.get(kept.id, {}).get("spoiler")
            if spoiler is not None:
                kept.flags = kept.flags | SPOILER_FLAG if spoiler else kept.flags & ~SPOILER_FLAG
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
                # Discord marks an upload named SPOILER_… as a spoiler.
                flags=SPOILER_FLAG if filename.startswith("SPOILER_") else 0,
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
