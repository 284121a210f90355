"""Each user's own settings (/animate-settings), wherever they use the bot."""

from __future__ import annotations

from bot.domain import UserSettings
from bot.store.base import StoreBase


class UsersMixin(StoreBase):
    async def user_settings(self, user_id: int) -> UserSettings:
        """The user's settings; the defaults when they never changed any."""
        row = await self.db.fetchrow(
            "SELECT private FROM user_settings WHERE user_id = $1", user_id
        )
        if row is None:
            return UserSettings(user_id=user_id)
        return UserSettings(user_id=user_id, private=bool(row["private"]))

    async def change_user_settings(self, user_id: int, *, private: bool, at: float) -> UserSettings:
        await self.db.execute(
            "INSERT INTO user_settings (user_id, private, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id) DO UPDATE SET private = excluded.private, "
            "updated_at = excluded.updated_at",
            user_id,
            int(private),
            at,
        )
        return UserSettings(user_id=user_id, private=private)
