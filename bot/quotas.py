"""How many jobs one user may run and start in a day, and how many may run in all.

One rule for every set of limits: `first_refusal` compares what a store counted with
the operator's limits (the job service, as it writes a row) and with a server's
stricter ones (admission). Discord-free; the cog words a refusal for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.config import Settings

# The daily quota's window, in seconds (a rolling day, not a calendar one).
DAY = 24 * 60 * 60


class QuotaKind(StrEnum):
    USER_CONCURRENT = "user_concurrent"
    USER_DAILY = "user_daily"
    GLOBAL_CONCURRENT = "global_concurrent"


class QuotaExceeded(Exception):
    """A limit refuses a new job; the cog words it for the user."""

    def __init__(self, kind: QuotaKind, limit: int, frees_at: float | None = None) -> None:
        super().__init__(f"{kind} quota of {limit} reached")
        self.kind = kind
        self.limit = limit
        self.frees_at = frees_at


@dataclass(frozen=True)
class Quotas:
    """The limits a new job must stay under."""

    user_concurrent: int  # the user's jobs not final
    user_daily: int  # the user's jobs created within the last DAY
    global_concurrent: int | None = None  # everybody's jobs not final; None: not counted


def operator_quotas(settings: Settings) -> Quotas:
    """The operator's limits (QUOTA_*): the ceiling of every server's."""
    return Quotas(
        user_concurrent=settings.quota_user_concurrent,
        user_daily=settings.quota_user_daily,
        global_concurrent=settings.quota_global_concurrent,
    )


class UserUsage(Protocol):
    """What a store counted for one user (its quota usage and a server's usage both fit)."""

    @property
    def user_active(self) -> int: ...  # the user's jobs not final

    @property
    def user_since(self) -> int: ...  # the user's jobs created since the window start

    @property
    def oldest_since(self) -> float | None: ...  # created_at of the oldest of those


def first_refusal(
    quotas: Quotas, usage: UserUsage, *, now: float, all_active: int = 0
) -> QuotaExceeded | None:
    """The first of `quotas` that `usage` reaches, if any: the user's running jobs, then
    their day, then everybody's running jobs (`all_active`, when `quotas` limits them)."""
    if usage.user_active >= quotas.user_concurrent:
        return QuotaExceeded(QuotaKind.USER_CONCURRENT, quotas.user_concurrent)
    if usage.user_since >= quotas.user_daily:
        frees_at = (usage.oldest_since or now) + DAY
        return QuotaExceeded(QuotaKind.USER_DAILY, quotas.user_daily, frees_at)
    if quotas.global_concurrent is not None and all_active >= quotas.global_concurrent:
        return QuotaExceeded(QuotaKind.GLOBAL_CONCURRENT, quotas.global_concurrent)
    return None
