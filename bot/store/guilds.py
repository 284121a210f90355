"""Settings kept in the database: each server's (/admin), and the bot's own between starts."""

from __future__ import annotations

import json

from bot.domain import GuildSettings
from bot.store.base import StoreBase
from bot.store.database import Row

MAX_KEPT_GUILDS = 10_000  # servers whose settings SQLite's store keeps in memory


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

    async def save_guild_settings(self, settings: GuildSettings) -> GuildSettings:
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, paused, pause_reason, allowed_channels, "
            "user_concurrent, user_daily, daily_spend_cap_usd, updated_by, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (guild_id) DO UPDATE SET paused = excluded.paused, "
            "pause_reason = excluded.pause_reason, allowed_channels = excluded.allowed_channels, "
            "user_concurrent = excluded.user_concurrent, user_daily = excluded.user_daily, "
            "daily_spend_cap_usd = excluded.daily_spend_cap_usd, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            settings.guild_id,
            int(settings.paused),
            settings.pause_reason,
            json.dumps(list(settings.allowed_channel_ids)),
            settings.user_concurrent,
            settings.user_daily,
            settings.daily_spend_cap_usd,
            settings.updated_by,
            settings.updated_at,
        )
        return self._keep_guild_settings(settings)

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
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )
