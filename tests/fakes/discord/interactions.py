"""REST: answering interactions, and the webhook routes of their tokens."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.discord.checks import _check_modal
from tests.fakes.discord.messages import MessageStore
from tests.fakes.discord.records import FakeInteraction, FakeMessage
from tests.fakes.discord.wire import (
    EPHEMERAL,
    FOLLOWUP_LIMIT,
    INTERACTION_ANSWER_SECONDS,
    LOADING,
    DiscordError,
)


class InteractionsMixin(MessageStore):
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
        if self.late_answers:
            self.late_answers -= 1
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        kind = body["type"]
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message: FakeMessage | None = None
        if kind in (4, 5) and _forced_ephemeral(interaction):
            flags |= EPHEMERAL  # the server denies external apps: only the user sees it
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
        elif kind == 6:
            # A deferred update: @original is the message whose component was used.
            if interaction.original_id is None:
                interaction.original_id = int(interaction.payload["message"]["id"])
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
        elif kind == 8:
            interaction.choices = _checked_choices(data)
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
        place = interaction.place
        if (
            place is not None
            and not place.member
            and len(interaction.followup_ids) >= (FOLLOWUP_LIMIT)
        ):
            # Where the app is not in the place, five followups per interaction (the one
            # that replaced a deferred reply counts).
            interaction.refused_followups += 1
            raise DiscordError(400, 40094, "Maximum number of follow up messages hit")
        if _forced_ephemeral(interaction):
            body = {**body, "flags": int(body.get("flags") or 0) | EPHEMERAL}
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


def _forced_ephemeral(interaction: FakeInteraction) -> bool:
    return interaction.place is not None and interaction.place.forced_ephemeral


def _checked_choices(data: dict[str, Any]) -> list[dict[str, Any]]:
    """An autocomplete answer as Discord takes it: at most 25 choices, names of 1 to 100,
    text values of at most 100, numbers within 2**53."""
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) > 25:
        raise DiscordError(400, 50035, "Invalid Form Body: choices")
    for choice in choices:
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= 100 or "value" not in choice:
            raise DiscordError(400, 50035, "Invalid Form Body: choice")
        if isinstance(value, str) and len(value) > 100:
            raise DiscordError(400, 50035, "Invalid Form Body: choice value")
        if isinstance(value, int | float) and not abs(value) < 2**53:
            raise DiscordError(400, 50035, "Invalid Form Body: choice value")
    return choices
