"""A loopback fake of Discord that the real discord.py client runs against.

A real aiohttp server on 127.0.0.1 speaks the gateway (websocket, JSON text
frames) and the REST routes our flows use, under /api/v10, with a message
store that models what Discord does (see shared/docs/discord-platform.md):
the deferred "thinking" message, edits through the interaction token and the
channel, followups (and the quirk that the first one after a defer edits the
placeholder), replies, reactions, DMs, uploads with size limits, embed limits,
and who gets pinged, derived from content and `allowed_mentions`.

Tests drive it with `invoke`, `click` and `react`, read what users would see
with the helpers of reading.py, and inject faults (expired tokens, 413, 429,
deleted messages, missing access, closed DMs). Interactions happen in places
(places.py): the fake's guild, the bot's DM, `foreign_channel` (a server that never
added the bot, reached by a user install: no gateway events, no channel routes, five
followups, every answer ephemeral when `foreign_external_apps` is False) and
`group_dm`; a command is offered there only as its synced installs and contexts allow.

`FakeDiscord` (server.py) is assembled from parts that share one state (state.py):
the guild (guild.py), the gateway (gateway.py), the REST routes (identity.py,
interactions.py, channels.py) over the message store (messages.py), and the test
surface: acting as users (actors.py) in places (places.py), faults (faults.py),
reading what users see (reading.py). What Discord refuses is in checks.py; its numbers in wire.py.
"""

from __future__ import annotations

from tests.fakes.discord.checks import DISCORD_LOCALES, _check_command_texts
from tests.fakes.discord.reading import peak_per_second
from tests.fakes.discord.records import (
    Edit,
    FakeAttachment,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    Recorded,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.wire import (
    ADD_REACTIONS,
    API,
    ATTACH_FILES,
    BOT_PERMISSIONS,
    DEFAULT_UPLOAD_LIMIT,
    EMBED_LINKS,
    EPHEMERAL,
    INTERACTION_ANSWER_SECONDS,
    LOADING,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MEMBER_PERMISSIONS,
    OPTION_TYPES,
    READ_HISTORY,
    SEND_MESSAGES,
    USE_COMMANDS,
    VIEW_CHANNEL,
    DiscordError,
)

__all__ = [
    "ADD_REACTIONS",
    "API",
    "ATTACH_FILES",
    "BOT_PERMISSIONS",
    "DEFAULT_UPLOAD_LIMIT",
    "DISCORD_LOCALES",
    "EMBED_LINKS",
    "EPHEMERAL",
    "INTERACTION_ANSWER_SECONDS",
    "LOADING",
    "MANAGE_GUILD",
    "MANAGE_MESSAGES",
    "MEMBER_PERMISSIONS",
    "OPTION_TYPES",
    "READ_HISTORY",
    "SEND_MESSAGES",
    "USE_COMMANDS",
    "VIEW_CHANNEL",
    "DiscordError",
    "Edit",
    "FakeAttachment",
    "FakeDiscord",
    "FakeInteraction",
    "FakeMessage",
    "FakeUser",
    "Recorded",
    "_check_command_texts",
    "peak_per_second",
]
