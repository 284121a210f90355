"""Discord's numbers and error shape, as the fake speaks them."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

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
# Where a command may run (`contexts`) and who installed it (`integration_types`).
GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2
GUILD_INSTALL, USER_INSTALL = 0, 1
# Followup messages Discord takes per interaction where the app is not in the place.
FOLLOWUP_LIMIT = 5
# An attachment's flag once marked as a spoiler (or its filename starts with SPOILER_).
SPOILER_FLAG = 1 << 3
INTERACTION_ANSWER_SECONDS = 3.0
OPTION_TYPES = {
    "string": 3,
    "integer": 4,
    "boolean": 5,
    "channel": 7,
    "number": 10,
    "attachment": 11,
}


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
