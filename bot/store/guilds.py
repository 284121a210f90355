"""Settings kept in the database: each server's (/admin), and the bot's own between starts.

A server's settings change a column at a time: two admins changing different
settings at once both keep their change (no read-modify-write of the whole row).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.domain import GuildSettings
from bot.store.base import StoreBase
from bot.store.database import Row
from bot.store.rows import Params

MAX_KEPT_GUILDS = 10_000  # servers whose settings SQLite's store keeps in memory
# What `change_guild_settings` may set; the channel list changes through its own method.
GUILD_COLUMNS = frozenset(
    {
        "paused",
        "pause_reason",
        "user_concurrent",
        "user_daily",
        "daily_spend_cap_usd",
        "language",
        "default_model_id",
    }
)
# The lists a server keeps as JSON, changed atomically: column -> GuildSettings field.
LIST_COLUMNS = {"allowed_channels": "allowed_channel_ids", "allowed_models": "allowed_model_ids"}

Channels = tuple[int, ...]
ModelIds = tuple[str, ...]


class GuildsMixin(StoreBase):
    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """The server's settings; the defaults when its admins never changed any."""
        known = self._guilds.get(guild_id)
        if known is None:
            row = await self.db.fetchrow(
                "SELECT * FROM guild_settings WHERE guild_id = $1", guild_id
            )
            known = GuildSettings(guild_id=guild_id) if row is None else _from_row(row)
            self._keep_guild_settings(known)
        return known

    async def change_guild_settings(
        self, guild_id: int, *, by: int | None, at: float, **changes: object
    ) -> GuildSettings:
        """Set the given settings (names of GuildSettings fields) and nothing else; the
        server's settings after the change. ValueError for unknown names or bad values."""
        unknown = set(changes) - GUILD_COLUMNS
        if unknown:
            raise ValueError(f"not guild settings columns: {sorted(unknown)}")
        valid = GuildSettings.model_validate({"guild_id": guild_id, **changes})
        columns: dict[str, Any] = {name: getattr(valid, name) for name in changes}
        if "paused" in columns:
            columns["paused"] = int(columns["paused"])
        columns.update(updated_by=by, updated_at=at)
        p = Params(guild_id)
        # Column names come from GUILD_COLUMNS, never from input.
        row = await self.db.fetchrow(
            f"INSERT INTO guild_settings (guild_id, {', '.join(columns)}) "
            f"VALUES ($1, {p.many(columns.values())}) ON CONFLICT (guild_id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in columns)
            + " RETURNING *",
            *p.values,
        )
        assert row is not None
        return self._keep_guild_settings(_from_row(row))

    async def change_allowed_channels(
        self,
        guild_id: int,
        change: Callable[[Channels], Channels],
        *,
        by: int | None,
        at: float,
    ) -> GuildSettings:
        """Replace the server's channel list with `change(current list)`, atomically: the
        row stays locked from the read to the write. An error from `change` changes nothing."""
        return await self._change_list(guild_id, "allowed_channels", change, by=by, at=at)

    async def change_allowed_models(
        self,
        guild_id: int,
        change: Callable[[ModelIds], ModelIds],
        *,
        by: int | None,
        at: float,
    ) -> GuildSettings:
        """The same for the models the server's members may use (empty: all)."""
        return await self._change_list(guild_id, "allowed_models", change, by=by, at=at)

    async def _change_list(
        self,
        guild_id: int,
        column: str,
        change: Callable[[Any], tuple[Any, ...]],
        *,
        by: int | None,
        at: float,
    ) -> GuildSettings:
        if column not in LIST_COLUMNS:
            raise ValueError(f"not a list column: {column}")
        # Column names come from LIST_COLUMNS, never from input.
        async with self.db.transaction():
            # The row must exist to be locked: two first changes at once would both insert.
            await self.db.execute(
                "INSERT INTO guild_settings (guild_id) VALUES ($1) "
                "ON CONFLICT (guild_id) DO NOTHING",
                guild_id,
            )
            current = await self.db.fetchval(
                f"SELECT {column} FROM guild_settings WHERE guild_id = $1"
                + self.db.dialect.for_update,
                guild_id,
            )
            changed = change(tuple(json.loads(current)))
            row = await self.db.fetchrow(
                f"UPDATE guild_settings SET {column} = $2, updated_by = $3, "
                "updated_at = $4 WHERE guild_id = $1 RETURNING *",
                guild_id,
                json.dumps(list(changed)),
                by,
                at,
            )
        assert row is not None
        return self._keep_guild_settings(_from_row(row))

    def _keep_guild_settings(self, settings: GuildSettings) -> GuildSettings:
        if self.shared:
            return settings  # another process may change them: read them each time
        if len(self._guilds) >= MAX_KEPT_GUILDS and settings.guild_id not in self._guilds:
            del self._guilds[next(iter(self._guilds))]  # the longest kept
        self._guilds[settings.guild_id] = settings
        return settings

    # -- what the bot keeps between starts -------------------------------------------

    async def state(self, key: str) -> str | None:
        """A value kept with `set_state` (the synced commands' hash, a model's schema)."""
        value = await self.db.fetchval("SELECT value FROM bot_state WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_state(self, key: str, value: str, *, now: float) -> None:
        await self.db.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            key,
            value,
            now,
        )


def _from_row(row: Row) -> GuildSettings:
    return GuildSettings(
        guild_id=row["guild_id"],
        paused=bool(row["paused"]),
        pause_reason=row["pause_reason"],
        allowed_channel_ids=tuple(json.loads(row["allowed_channels"])),
        user_concurrent=row["user_concurrent"],
        user_daily=row["user_daily"],
        daily_spend_cap_usd=row["daily_spend_cap_usd"],
        default_model_id=row["default_model_id"],
        allowed_model_ids=tuple(json.loads(row["allowed_models"])),
        language=row["language"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )
