"""May a new job start here, now? The operator's and the server admins' switches.

Discord-free and cheap (memory and the local database only): it runs before the
public defer, and again under `JobService`'s admission lock as the row is written,
so a pause or a cap reached between the two is honoured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.config import Settings
from bot.domain import GuildSettings
from bot.models.model import VideoModel
from bot.models.registry import Models
from bot.quotas import DAY, Quotas, first_refusal
from bot.store import JobStore


class RefusalKind(StrEnum):
    GLOBAL_PAUSE = "global_pause"
    MODEL_MISSING = "model_missing"  # no model available at all, or the one asked for
    MODEL_NOT_ALLOWED = "model_not_allowed"  # this server's admins do not offer it
    PAUSED = "paused"
    CHANNEL = "channel"
    SPEND_CAP = "spend_cap"  # the server's daily budget
    DAILY_SPEND = "daily_spend"  # the operator's daily budget (DMs too)
    PRICE_UNKNOWN = "price_unknown"  # a budget applies and the model gives no price


class AdmissionRefused(Exception):
    """A switch refuses a new job; the cog words it for the user."""

    def __init__(
        self,
        kind: RefusalKind,
        *,
        reason: str | None = None,
        channel_ids: tuple[int, ...] = (),
        cap_usd: float | None = None,
        models: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"new job refused: {kind}")
        self.kind = kind
        self.reason = reason
        self.channel_ids = channel_ids
        self.cap_usd = cap_usd
        # The names of the models that may be used instead, for the refusal's text.
        self.models = models


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


def would_pass_cap(committed: float, new_estimate: float | None, cap: float) -> bool:
    """Refuse when the cap is already reached, or this job's estimate would pass it.

    An unknown estimate under a cap passes it: the cap never guesses low.
    """
    return new_estimate is None or committed >= cap or committed + new_estimate > cap


@dataclass(frozen=True)
class ModelChoice:
    """The model a new job uses, and the server default it replaces, if that one is gone."""

    model: VideoModel
    replaced_default: str | None = None


def offered(models: Models, guild: GuildSettings | None) -> list[VideoModel]:
    """The models members may use here: the operator's available ones, narrowed by the
    server's list (never widened: a server cannot offer what the operator did not list)."""
    available = models.available()
    if guild is None or not guild.allowed_model_ids:
        return available
    return [m for m in available if m.model_id in guild.allowed_model_ids]


def server_default(here: Sequence[VideoModel], guild: GuildSettings | None) -> VideoModel | None:
    """The model a member gets here without asking, among those offered `here`: the
    server's default while it is offered, else the first; None when none is."""
    default = guild.default_model_id if guild is not None else None
    return next((m for m in here if m.model_id == default), here[0] if here else None)


class Admission:
    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        models: Models,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.clock = clock

    async def offered(self, guild_id: int | None) -> list[VideoModel]:
        guild = await self.store.guild_settings(guild_id) if guild_id is not None else None
        return offered(self.models, guild)

    async def choose_model(self, guild_id: int | None, wanted: str | None) -> ModelChoice:
        """The model asked for if it may be used here, else the server's default (or the
        next available one, said so when the server's default is gone); AdmissionRefused."""
        guild = await self.store.guild_settings(guild_id) if guild_id is not None else None
        here = offered(self.models, guild)
        names = tuple(m.name for m in here)
        if wanted:
            model = next((m for m in here if wanted in (m.model_id, m.name)), None)
            if model is not None:
                return ModelChoice(model)
            kind = RefusalKind.MODEL_MISSING
            if self.models.get(wanted) is not None:
                kind = RefusalKind.MODEL_NOT_ALLOWED
            raise AdmissionRefused(kind, models=names)
        chosen = server_default(here, guild)
        if chosen is None:
            raise AdmissionRefused(RefusalKind.MODEL_MISSING)
        default = guild.default_model_id if guild is not None else None
        # Members hear of a default that is gone (retired, or dropped by the operator),
        # not of one their own admins stopped offering.
        if default is None or chosen.model_id == default or self.models.get(default) is not None:
            return ModelChoice(chosen)
        gone = self.models.known(default)
        return ModelChoice(chosen, replaced_default=gone.name if gone else default)

    async def server_language(self, guild_id: int | None) -> str | None:
        """The language a server's admins chose for public messages; None: automatic."""
        if guild_id is None:
            return None
        return (await self.store.guild_settings(guild_id)).language

    async def check(
        self,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        model_id: str,
        estimate_usd: float | None,
    ) -> None:
        """Raise AdmissionRefused or QuotaExceeded if this job may not start now."""
        if self.settings.global_pause:
            raise AdmissionRefused(RefusalKind.GLOBAL_PAUSE)
        if self.models.get(model_id) is None:
            names = tuple(m.name for m in self.models.available())
            raise AdmissionRefused(RefusalKind.MODEL_MISSING, models=names)
        now = self.clock()
        daily = self.settings.daily_spend_usd
        if daily is not None:
            spent = await self.store.spend_since(now - DAY)
            if would_pass_cap(spent, estimate_usd, daily):
                kind = (
                    RefusalKind.PRICE_UNKNOWN if estimate_usd is None else RefusalKind.DAILY_SPEND
                )
                raise AdmissionRefused(kind)
        if guild_id is None:
            return  # DMs: only the operator's own limits apply (JobService.check_quota)
        guild = await self.store.guild_settings(guild_id)
        if guild.paused:
            raise AdmissionRefused(RefusalKind.PAUSED, reason=guild.pause_reason)
        allowed = guild.allowed_channel_ids
        if allowed and channel_id not in allowed:
            raise AdmissionRefused(RefusalKind.CHANNEL, channel_ids=allowed)
        if guild.allowed_model_ids and model_id not in guild.allowed_model_ids:
            names = tuple(m.name for m in offered(self.models, guild))
            raise AdmissionRefused(RefusalKind.MODEL_NOT_ALLOWED, models=names)
        limits = effective_limits(self.settings, guild)
        stricter = (
            limits.user_concurrent < self.settings.quota_user_concurrent
            or limits.user_daily < self.settings.quota_user_daily
        )
        if not stricter and limits.daily_spend_cap_usd is None:
            return  # nothing of this server's to count
        usage = await self.store.guild_usage(guild_id, user_id, since=now - DAY)
        refusal = first_refusal(limits.quotas, usage, now=now)
        if refusal is not None:
            raise refusal
        cap = limits.daily_spend_cap_usd
        if cap is not None and would_pass_cap(usage.committed_usd, estimate_usd, cap):
            kind = RefusalKind.PRICE_UNKNOWN if estimate_usd is None else RefusalKind.SPEND_CAP
            raise AdmissionRefused(kind, cap_usd=cap)
