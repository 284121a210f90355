"""What /admin changes: one server's switches and limits, and its usage. Discord-free.

Who may act is decided here too (`may_administer`), so the rule is tested without
Discord: members with Manage Server on their own server, the operator everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.admission import EffectiveLimits, effective_limits
from bot.config import Settings
from bot.domain import GuildSettings, UsageReport
from bot.languages import stored_server_language
from bot.quotas import DAY
from bot.store import JobStore

log = logging.getLogger(__name__)

MAX_ALLOWED_CHANNELS = 25
MAX_REASON_CHARS = 200


class LimitTooHigh(ValueError):
    """A server asked for more than the operator allows; nothing was changed."""

    def __init__(self, name: str, asked: int, ceiling: int) -> None:
        super().__init__(f"{name} {asked} above the operator's {ceiling}")
        self.name = name
        self.asked = asked
        self.ceiling = ceiling


class UnknownModel(ValueError):
    """Not one of the operator's models: a server can only narrow their list."""

    def __init__(self, model: str) -> None:
        super().__init__(f"not one of the operator's models: {model}")
        self.model = model


class NoModelLeft(ValueError):
    """The change would leave the server's members no model at all."""

    def __init__(self) -> None:
        super().__init__("no model left")


class TooManyChannels(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} allowed channels")
        self.limit = limit


def may_administer(
    settings: Settings,
    *,
    user_id: int,
    manage_guild: bool,
    own_guild_id: int | None,
    target_guild_id: int,
) -> bool:
    """Owners anywhere; a member with Manage Server only on the server they are in."""
    if user_id in settings.owner_ids:
        return True
    return manage_guild and own_guild_id is not None and own_guild_id == target_guild_id


class GuildAdmin:
    def __init__(
        self, *, settings: Settings, store: JobStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    async def get(self, guild_id: int) -> GuildSettings:
        return await self.store.guild_settings(guild_id)

    def limits(self, guild: GuildSettings) -> EffectiveLimits:
        return effective_limits(self.settings, guild)

    async def pause(self, guild_id: int, *, by: int, reason: str | None) -> GuildSettings:
        reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
        log.info("Guild %d paused by user %d", guild_id, by)
        return await self._change(guild_id, by, paused=True, pause_reason=reason)

    async def resume(self, guild_id: int, *, by: int) -> GuildSettings:
        log.info("Guild %d resumed by user %d", guild_id, by)
        return await self._change(guild_id, by, paused=False, pause_reason=None)

    async def set_channels(
        self,
        guild_id: int,
        *,
        by: int,
        add: int | None = None,
        remove: int | None = None,
        everywhere: bool = False,
    ) -> GuildSettings:
        """Allow `add`, stop allowing `remove`; `everywhere` clears the list first.

        The list is changed where it is stored, locked from read to write: two admins
        adding channels at once both get theirs."""

        def change(current: tuple[int, ...]) -> tuple[int, ...]:
            channels = [] if everywhere else list(current)
            if remove is not None and remove in channels:
                channels.remove(remove)
            if add is not None and add not in channels:
                if len(channels) >= MAX_ALLOWED_CHANNELS:
                    raise TooManyChannels(MAX_ALLOWED_CHANNELS)
                channels.append(add)
            return tuple(channels)

        return await self.store.change_allowed_channels(guild_id, change, by=by, at=self.clock())

    async def set_limits(
        self,
        guild_id: int,
        *,
        by: int,
        user_concurrent: int | None = None,
        user_daily: int | None = None,
        daily_spend_usd: float | None = None,
        reset: bool = False,
    ) -> GuildSettings:
        """Change the given limits (a spend of 0 removes the cap); `reset` clears all first."""
        s = self.settings
        if user_concurrent is not None and user_concurrent > s.quota_user_concurrent:
            raise LimitTooHigh("per_user_at_once", user_concurrent, s.quota_user_concurrent)
        if user_daily is not None and user_daily > s.quota_user_daily:
            raise LimitTooHigh("per_user_daily", user_daily, s.quota_user_daily)
        changes: dict[str, object] = {}
        if reset:
            changes.update(user_concurrent=None, user_daily=None, daily_spend_cap_usd=None)
        if user_concurrent is not None:
            changes["user_concurrent"] = user_concurrent
        if user_daily is not None:
            changes["user_daily"] = user_daily
        if daily_spend_usd is not None:
            changes["daily_spend_cap_usd"] = daily_spend_usd if daily_spend_usd > 0 else None
        if not changes:
            return await self.get(guild_id)
        log.info("Guild %d limits changed by user %d: %s", guild_id, by, changes)
        return await self._change(guild_id, by, **changes)

    async def set_models(
        self,
        guild_id: int,
        *,
        by: int,
        operator_models: tuple[str, ...],
        default: str | None = None,
        allow: str | None = None,
        deny: str | None = None,
        every: bool = False,
    ) -> GuildSettings:
        """The server's default model, and which of the operator's models its members may
        use (`every`: all of them again). Only the operator's models can be named."""
        for named in (default, allow, deny):
            if named is not None and named not in operator_models:
                raise UnknownModel(named)

        def change(current: tuple[str, ...]) -> tuple[str, ...]:
            allowed = [] if every else list(current)
            if allow is not None and allowed and allow not in allowed:
                allowed.append(allow)
            if deny is not None:
                # Denying one of "all" is allowing every other.
                allowed = [m for m in (allowed or list(operator_models)) if m != deny]
                if not allowed:
                    raise NoModelLeft()
            return tuple(m for m in operator_models if m in allowed)

        if allow is not None or deny is not None or every:
            log.info("Guild %d models changed by user %d", guild_id, by)
            await self.store.change_allowed_models(guild_id, change, by=by, at=self.clock())
        if default is not None:
            await self._change(guild_id, by, default_model_id=default)
        return await self.get(guild_id)

    async def set_language(self, guild_id: int, *, by: int, language: str) -> GuildSettings:
        """The language of the server's public messages: `auto` or a shipped catalog's."""
        stored = stored_server_language(language)
        log.info("Guild %d language set to %s by user %d", guild_id, language, by)
        return await self._change(guild_id, by, language=stored)

    async def usage(self, guild_id: int, *, days: int) -> UsageReport:
        return await self.store.usage_report(guild_id, since=self.clock() - days * DAY)

    async def _change(self, guild_id: int, by: int, **changes: object) -> GuildSettings:
        """Only the given settings are written: a concurrent change of others stays."""
        return await self.store.change_guild_settings(guild_id, by=by, at=self.clock(), **changes)
