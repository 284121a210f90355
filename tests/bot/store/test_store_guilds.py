"""A guild's settings and usage (/admin) in the store."""

from __future__ import annotations

import pytest

from bot.domain import ModelSpend
from tests.bot.store.helpers import S, new_job
from tests.fakes.schemas import SEEDANCE_15
from tests.stores import OpenStore, save_guild_settings


async def test_guild_settings_round_trip_and_usage(open_store_at: OpenStore) -> None:
    from bot.domain import GuildSettings

    store = await open_store_at()
    assert await store.guild_settings(5) == GuildSettings(guild_id=5)
    saved = GuildSettings(
        guild_id=5,
        paused=True,
        pause_reason="maintenance",
        allowed_channel_ids=(2**62, 7),
        user_concurrent=1,
        user_daily=3,
        daily_spend_cap_usd=2.5,
        default_model_id=SEEDANCE_15,
        allowed_model_ids=(SEEDANCE_15, "vendor/other/image-to-video"),
        language="fr",
        updated_by=2**63 - 1,
        updated_at=12.5,
    )
    await save_guild_settings(store, saved)
    assert await store.guild_settings(5) == saved
    # Read back from the database, not from the store's memory.
    assert await (await open_store_at()).guild_settings(5) == saved
    await save_guild_settings(store, saved.model_copy(update={"paused": False}))
    assert (await store.guild_settings(5)).paused is False
    now = 1000.0
    # Each at its estimate when admitted; the delivered one's known cost replaces it.
    for status, cost, estimate in (
        (S.DELIVERED, 0.5, 0.4),
        (S.FAILED, None, 0.3),  # refused at submit (no request id): never charged
        (S.IN_QUEUE, None, 0.24),
    ):
        await store.create(
            new_job(
                user_id=1,
                guild_id=5,
                created_at=now,
                status=status,
                cost=cost,
                estimate_usd=estimate,
            )
        )
    await store.create(
        new_job(user_id=2, guild_id=5, created_at=now, status=S.CANCELLED, estimate_usd=0.24)
    )
    await store.create(new_job(user_id=1, guild_id=6, created_at=now, status=S.DELIVERED, cost=9.0))
    usage = await store.guild_usage(5, 1, since=now - 1)
    # The member's day counts charged jobs: the delivered and the queued one.
    assert (usage.user_active, usage.user_since, usage.oldest_since) == (1, 2, now)
    # Known cost plus the estimates of charged jobs without one; other servers' apart.
    assert usage.committed_usd == pytest.approx(0.5 + 0.24)
    assert await store.spend_since(now - 1) == pytest.approx(0.5 + 0.24 + 9.0)
    assert await store.spend_since(now + 1) == 0.0
    report = await store.usage_report(5, since=now - 1)
    assert (report.jobs, report.delivered, report.failed, report.cancelled, report.active) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert report.spend_usd == 0.5 and [u.user_id for u in report.top_users] == [1, 2]
    assert report.by_model == [
        ModelSpend(model_id=SEEDANCE_15, jobs=4, spend_usd=0.5, estimated_usd=0.24)
    ]
    assert await store.count_active_by_status() == {"in_queue": 1}
