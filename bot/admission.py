"""May a new job start here, now? The operator's and the server admins' switches.

Discord-free and cheap (memory and the local database only): it runs before the
public defer, and again under `JobService`'s admission lock as the row is written,
so a pause or a cap reached between the two is honoured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.config import Settings
from bot.domain import GuildSettings, GuildUsage
from bot.pricing import PriceWatch
from bot.quotas import DAY, Quotas, first_refusal
from bot.store import JobStore


class RefusalKind(StrEnum):
    GLOBAL_PAUSE = "global_pause"
    MODEL_MISSING = "model_missing"
    PAUSED = "paused"
    CHANNEL = "channel"
    SPEND_CAP = "spend_cap"


class AdmissionRefused(Exception):
    """A switch refuses a new job; the cog words it for the user."""

    def __init__(
        self,
        kind: RefusalKind,
        *,
        reason: str | None = None,
        channel_ids: tuple[int, ...] = (),
        cap_usd: float | None = None,
    ) -> None:
        super().__init__(f"new job refused: {kind}")
        self.kind = kind
        self.reason = reason
        self.channel_ids = channel_ids
        self.cap_usd = cap_usd


@dataclass(frozen=True)
class EffectiveLimits:
    """A server's limits after the operator's ceilings."""

    user_concurrent: int
    user_daily: int
    daily_spend_cap_usd: float | None

    @property
    def quotas(self) -> Quotas:
        """The server's job limits; the global one is the operator's alone."""
        return Quotas(user_concurrent=self.user_concurrent, user_daily=self.user_daily)


def effective_limits(settings: Settings, guild: GuildSettings) -> EffectiveLimits:
    """Server admins may only lower the operator's limits, never raise them."""
    concurrent = settings.quota_user_concurrent
    daily = settings.quota_user_daily
    if guild.user_concurrent is not None:
        concurrent = min(concurrent, guild.user_concurrent)
    if guild.user_daily is not None:
        daily = min(daily, guild.user_daily)
    return EffectiveLimits(concurrent, daily, guild.daily_spend_cap_usd)


def committed_spend(usage: GuildUsage, price: Callable[[int], float | None]) -> float:
    """Known costs of the window plus the estimate of active jobs without a cost yet.

    Jobs whose price is unknown count nothing: the cap never guesses.
    """
    estimated = 0.0
    for duration, count in usage.active_uncosted.items():
        each = price(duration)
        if each is not None:
            estimated += each * count
    return usage.known_spend_usd + estimated


def would_pass_cap(committed: float, new_estimate: float | None, cap: float) -> bool:
    """Refuse when the cap is already reached, or this job's estimate would pass it."""
    return committed >= cap or committed + (new_estimate or 0.0) > cap


class Admission:
    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        pricing: PriceWatch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pricing = pricing
        self.clock = clock

    async def server_language(self, guild_id: int | None) -> str | None:
        """The language a server's admins chose for public messages; None: automatic."""
        if guild_id is None:
            return None
        return (await self.store.guild_settings(guild_id)).language

    async def check(
        self, *, user_id: int, guild_id: int | None, channel_id: int | None, duration: int
    ) -> None:
        """Raise AdmissionRefused or QuotaExceeded if this job may not start now."""
        if self.settings.global_pause:
            raise AdmissionRefused(RefusalKind.GLOBAL_PAUSE)
        if self.pricing.model_missing:
            raise AdmissionRefused(RefusalKind.MODEL_MISSING)
        if guild_id is None:
            return  # DMs: only the operator's own limits apply (JobService.check_quota)
        guild = await self.store.guild_settings(guild_id)
        if guild.paused:
            raise AdmissionRefused(RefusalKind.PAUSED, reason=guild.pause_reason)
        allowed = guild.allowed_channel_ids
        if allowed and channel_id not in allowed:
            raise AdmissionRefused(RefusalKind.CHANNEL, channel_ids=allowed)
        limits = effective_limits(self.settings, guild)
        stricter = (
            limits.user_concurrent < self.settings.quota_user_concurrent
            or limits.user_daily < self.settings.quota_user_daily
        )
        if not stricter and limits.daily_spend_cap_usd is None:
            return  # nothing of this server's to count
        now = self.clock()
        usage = await self.store.guild_usage(guild_id, user_id, since=now - DAY)
        refusal = first_refusal(limits.quotas, usage, now=now)
        if refusal is not None:
            raise refusal
        cap = limits.daily_spend_cap_usd
        if cap is not None:
            committed = committed_spend(usage, self.pricing.estimate)
            if would_pass_cap(committed, self.pricing.estimate(duration), cap):
                raise AdmissionRefused(RefusalKind.SPEND_CAP, cap_usd=cap)
