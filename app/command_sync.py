"""Syncing the command tree only when it changed (discord.py's own advice).

Commands are always synced globally: Discord honours where a command may be installed
and used (`integration_types`, `contexts`) on global commands only, so user installs,
DMs and group DMs see only those. They are also copied to each guild of
DISCORD_GUILD_IDS, where a change shows at once (a global one can take a while).
What a sync would send (every command's payload, with its translations) is hashed per
scope; the hash a sync succeeded with is kept in the database, so a start syncs only
the scopes whose commands changed, and `python -m bot sync` syncs them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.config import Settings

log = logging.getLogger(__name__)


class StateStore(Protocol):
    """Values kept between starts (the job store has them)."""

    async def state(self, key: str) -> str | None: ...

    async def set_state(self, key: str, value: str, *, now: float) -> None: ...


@dataclass(frozen=True)
class Scope:
    """Where commands are synced: one guild (they appear at once), or everywhere."""

    guild_id: int | None = None

    @property
    def guild(self) -> discord.Object | None:
        return None if self.guild_id is None else discord.Object(id=self.guild_id)

    def key(self, application_id: int) -> str:
        # Per application too: another DISCORD_TOKEN's application has commands of its own.
        where = "global" if self.guild_id is None else f"guild:{self.guild_id}"
        return f"commands_hash:{application_id}:{where}"

    def __str__(self) -> str:
        return "globally" if self.guild_id is None else f"to guild {self.guild_id}"


def scopes(settings: Settings) -> list[Scope]:
    """Globally (first), then each guild of DISCORD_GUILD_IDS."""
    return [Scope(), *(Scope(guild_id) for guild_id in settings.discord_guild_ids)]


class Outcome(StrEnum):
    SYNCED = "synced"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # the bot is not in that guild, or lacks applications.commands


@dataclass(frozen=True)
class ScopeSync:
    scope: Scope
    outcome: Outcome
    commands: int = 0


async def payload_hash(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> str:
    """A hash of what `tree.sync(guild=guild)` would send, translations included."""
    translator = tree.translator
    payload = [
        await command.get_translated_payload(tree, translator)
        if translator is not None
        else command.to_dict(tree)
        for command in tree.get_commands(guild=guild)
    ]
    payload.sort(key=lambda command: (command.get("type", 1), command["name"]))
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def sync_commands(
    tree: app_commands.CommandTree[Any],
    store: StateStore,
    where: list[Scope],
    *,
    force: bool = False,
    clock: Callable[[], float] = time.time,
) -> list[ScopeSync]:
    """Sync every scope of `where` whose commands changed (all of them if `force`)."""
    application_id = tree.client.application_id
    if application_id is None:
        raise app_commands.MissingApplicationID
    done = []
    for scope in where:
        guild = scope.guild
        if guild is not None:
            tree.copy_global_to(guild=guild)
        digest = await payload_hash(tree, guild)
        key = scope.key(application_id)
        if not force and await store.state(key) == digest:
            log.info("Commands unchanged since the last sync %s: not synced", scope)
            done.append(ScopeSync(scope, Outcome.UNCHANGED))
            continue
        try:
            synced = await tree.sync(guild=guild)
        except discord.Forbidden:
            # A typo or a server that removed the bot must not keep the others waiting.
            log.error(
                "Cannot sync commands %s (DISCORD_GUILD_IDS): the bot is not in it, or was "
                "invited without the applications.commands scope",
                scope,
            )
            done.append(ScopeSync(scope, Outcome.REFUSED))
            continue
        await store.set_state(key, digest, now=clock())
        log.info("Synced %d commands %s", len(synced), scope)
        done.append(ScopeSync(scope, Outcome.SYNCED, len(synced)))
    return done
