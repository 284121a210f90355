"""The one quota rule, for the operator's limits and a server's alike."""

from __future__ import annotations

import pytest

from bot.domain import GuildUsage
from bot.quotas import DAY, QuotaKind, Quotas, first_refusal
from bot.store import QuotaUsage

NOW = 1_800_000_000.0
OPERATOR = Quotas(user_concurrent=2, user_daily=5, global_concurrent=10)


def usage(
    active: int = 0, since: int = 0, oldest: float | None = None, all_active: int = 0
) -> QuotaUsage:
    return QuotaUsage(
        user_active=active, user_since=since, oldest_since=oldest, all_active=all_active
    )


def test_below_every_limit_nothing_refuses() -> None:
    assert first_refusal(OPERATOR, usage(1, 4), now=NOW, all_active=9) is None


def test_the_users_running_jobs_are_looked_at_first() -> None:
    refusal = first_refusal(OPERATOR, usage(2, 5), now=NOW, all_active=10)
    assert refusal is not None
    assert (refusal.kind, refusal.limit, refusal.frees_at) == (QuotaKind.USER_CONCURRENT, 2, None)


def test_a_full_day_frees_a_day_after_its_oldest_job() -> None:
    refusal = first_refusal(OPERATOR, usage(0, 5, oldest=NOW - 3600), now=NOW, all_active=10)
    assert refusal is not None and refusal.kind is QuotaKind.USER_DAILY
    assert refusal.limit == 5 and refusal.frees_at == pytest.approx(NOW - 3600 + DAY)


def test_everybodys_running_jobs_come_last() -> None:
    refusal = first_refusal(OPERATOR, usage(0, 0), now=NOW, all_active=10)
    assert refusal is not None
    assert (refusal.kind, refusal.limit) == (QuotaKind.GLOBAL_CONCURRENT, 10)


def test_a_servers_limits_leave_the_global_one_to_the_operator() -> None:
    server = Quotas(user_concurrent=1, user_daily=2)
    counted = GuildUsage(user_active=0, user_since=1, oldest_since=None, committed_usd=0.0)
    assert first_refusal(server, counted, now=NOW, all_active=10_000) is None
    full = counted.model_copy(update={"user_since": 2})
    refusal = first_refusal(server, full, now=NOW)
    assert refusal is not None and refusal.kind is QuotaKind.USER_DAILY
    assert refusal.frees_at == pytest.approx(NOW + DAY)  # no oldest known: from now
