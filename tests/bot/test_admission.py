"""The pure pieces of admission and the guild_settings SQL, without Discord."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.admission import EffectiveLimits, effective_limits, server_default, would_pass_cap
from bot.config import Settings
from bot.domain import GuildSettings, ImageFacts, Job, JobStatus
from bot.guild_settings import GuildAdmin, LimitTooHigh, may_administer
from bot.store import LATEST_MIGRATION, JobStore, guilds
from tests.fakes.schemas import SEEDANCE_15
from tests.models import job_fields, seedance
from tests.stores import save_guild_settings, schema_version

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)
NOW = 1_800_000_000.0
DAY = 86400


def settings(**values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        discord_token=SecretStr("d"),
        runcomfy_api_token=SecretStr("r"),
        **values,
    )


def test_owner_ids_and_global_pause_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OWNER_IDS", "11, 22")
    monkeypatch.setenv("GLOBAL_PAUSE", "true")
    s = settings()
    assert s.owner_ids == [11, 22] and s.global_pause is True


def test_server_limits_can_only_lower_the_operators() -> None:
    s = settings(quota_user_concurrent=3, quota_user_daily=10)
    assert effective_limits(s, GuildSettings(guild_id=1)) == EffectiveLimits(3, 10, None)
    lowered = effective_limits(
        s, GuildSettings(guild_id=1, user_concurrent=1, user_daily=4, daily_spend_cap_usd=2.5)
    )
    assert (lowered.user_concurrent, lowered.user_daily, lowered.daily_spend_cap_usd) == (1, 4, 2.5)
    # A value stored before the operator lowered the global limit never raises it.
    raised = effective_limits(s, GuildSettings(guild_id=1, user_concurrent=9, user_daily=99))
    assert (raised.user_concurrent, raised.user_daily) == (3, 10)


def test_a_servers_default_model_is_its_choice_while_offered_else_the_first() -> None:
    first, chosen = seedance(), replace(seedance(), model_id="chosen", name="Chosen")
    here = [first, chosen]
    assert server_default(here, None) is first
    assert server_default(here, GuildSettings(guild_id=1)) is first
    assert server_default(here, GuildSettings(guild_id=1, default_model_id="chosen")) is chosen
    # Its choice no longer offered (narrowed away, or retired): the first one offered.
    assert server_default([first], GuildSettings(guild_id=1, default_model_id="chosen")) is first
    assert server_default([], GuildSettings(guild_id=1, default_model_id="chosen")) is None


async def test_committed_spend_counts_known_costs_and_estimates_of_charged_jobs(
    tmp_path: Path,
) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        for row in (
            job(cost=0.5, estimate_usd=0.24),  # its known cost, not its estimate
            job(status=JobStatus.IN_QUEUE, estimate_usd=0.1),
            job(status=JobStatus.IN_PROGRESS, estimate_usd=0.1),
            job(status=JobStatus.SUBMITTING, estimate_usd=0.2),
            # Charged, and RunComfy never said what it cost: its estimate counts for good.
            job(status=JobStatus.TIMED_OUT, request_id="r-1", estimate_usd=0.3),
            # Not charged: refused at submit, cancelled in the queue.
            job(status=JobStatus.FAILED, estimate_usd=9.0),
            job(status=JobStatus.CANCELLED, request_id="r-2", estimate_usd=9.0),
            # No estimate (no budget applied when it started): nothing to count.
            job(status=JobStatus.IN_QUEUE),
        ):
            await store.create(row)
        usage = await store.guild_usage(100, 1, since=NOW - DAY)
        assert usage.committed_usd == pytest.approx(0.5 + 0.1 + 0.1 + 0.2 + 0.3)
        assert await store.spend_since(NOW - DAY) == pytest.approx(usage.committed_usd)


@pytest.mark.parametrize(
    ("committed", "estimate", "cap", "refused"),
    [
        (0.0, 0.12, 0.20, False),
        (0.12, 0.12, 0.20, True),  # this job would pass the cap
        (0.08, 0.12, 0.20, False),  # reaching it exactly is allowed
        (0.20, None, 0.20, True),  # no price known: refused (never guessed low)
        (0.19, None, 0.20, True),
        (0.0, None, 0.20, True),
    ],
)
def test_cap_refuses_when_the_new_estimate_would_pass_it(
    committed: float, estimate: float | None, cap: float, refused: bool
) -> None:
    assert would_pass_cap(committed, estimate, cap) is refused


def test_who_may_administer() -> None:
    s = settings(owner_ids=[7])
    here = {"own_guild_id": 100, "target_guild_id": 100}
    assert may_administer(s, user_id=1, manage_guild=True, **here)
    assert not may_administer(s, user_id=1, manage_guild=False, **here)
    # Manage Server on one server gives nothing on another.
    assert not may_administer(
        s, user_id=1, manage_guild=True, own_guild_id=100, target_guild_id=200
    )
    # The operator may act anywhere, without Manage Server.
    assert may_administer(s, user_id=7, manage_guild=False, own_guild_id=100, target_guild_id=200)


def job(**values: Any) -> Job:
    base: dict[str, Any] = {
        "user_id": 1,
        "guild_id": 100,
        "prompt": "p",
        "image": IMAGE,
        "created_at": NOW - 60,
        "status": JobStatus.DELIVERED,
        **job_fields(),
    }
    return Job(**{**base, **values})


async def test_guild_settings_round_trip_and_defaults(tmp_path: Path) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        assert await schema_version(store) == LATEST_MIGRATION
        assert await store.guild_settings(5) == GuildSettings(guild_id=5)
        saved = GuildSettings(
            guild_id=5,
            paused=True,
            pause_reason="maintenance",
            allowed_channel_ids=(11, 12),
            user_concurrent=1,
            user_daily=3,
            daily_spend_cap_usd=1.5,
            default_model_id=SEEDANCE_15,
            allowed_model_ids=(SEEDANCE_15,),
            updated_by=9,
            updated_at=NOW,
        )
        await save_guild_settings(store, saved)
        await save_guild_settings(store, saved.model_copy(update={"pause_reason": "again"}))
    async with await JobStore.open(tmp_path / "bot.db") as store:
        assert await store.guild_settings(5) == saved.model_copy(update={"pause_reason": "again"})
        assert await store.guild_settings(6) == GuildSettings(guild_id=6)


async def test_kept_guild_settings_are_bounded_and_follow_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guilds, "MAX_KEPT_GUILDS", 2)
    async with await JobStore.open(tmp_path / "bot.db") as store:
        for guild_id in (1, 2, 3):
            assert await store.guild_settings(guild_id) == GuildSettings(guild_id=guild_id)
        assert sorted(store._guilds) == [2, 3]  # the first read went first
        paused = GuildSettings(guild_id=2, paused=True)
        await save_guild_settings(store, paused)
        assert await store.guild_settings(2) == paused
        assert await store.guild_settings(1) == GuildSettings(guild_id=1)  # read again


async def test_guild_usage_and_report_count_this_server_and_window_only(tmp_path: Path) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        for row in (
            job(cost=0.10),
            job(cost=0.20, user_id=2),
            job(status=JobStatus.FAILED),
            job(status=JobStatus.CANCELLED, user_id=2),
            job(status=JobStatus.IN_QUEUE, **job_fields(duration=8), estimate_usd=0.384),
            job(
                status=JobStatus.IN_PROGRESS,
                **job_fields(duration=8),
                estimate_usd=0.384,
                user_id=2,
            ),
            job(status=JobStatus.COMPLETED, cost=0.05),  # cost known, not yet delivered
            job(cost=9.0, created_at=NOW - 2 * DAY),  # outside the window
            job(cost=9.0, guild_id=200),  # another server
            job(cost=9.0, guild_id=None),  # a DM
        ):
            await store.create(row)
        usage = await store.guild_usage(100, 1, since=NOW - DAY)
        # The member's charged jobs: not the one refused at submit (failed, no request id).
        assert (usage.user_active, usage.user_since) == (2, 3)
        assert usage.oldest_since == NOW - 60
        # Known costs, and the estimates of the two running jobs without one.
        assert usage.committed_usd == pytest.approx(0.35 + 2 * 0.384)

        report = await store.usage_report(100, since=NOW - DAY)
        assert (report.jobs, report.delivered, report.failed, report.cancelled, report.active) == (
            7,
            2,
            1,
            1,
            3,
        )
        assert report.spend_usd == pytest.approx(0.35)
        assert [(u.user_id, u.jobs) for u in report.top_users] == [(2, 3), (1, 4)]
        assert report.top_users[0].spend_usd == pytest.approx(0.20)
        assert (await store.usage_report(100, since=NOW - 3 * DAY)).jobs == 8


async def test_limits_above_the_operators_are_refused_and_nothing_changes(
    tmp_path: Path,
) -> None:
    async with await JobStore.open(tmp_path / "bot.db") as store:
        admin = GuildAdmin(
            settings=settings(quota_user_concurrent=2), store=store, clock=lambda: NOW
        )
        with pytest.raises(LimitTooHigh) as caught:
            await admin.set_limits(5, by=1, user_concurrent=3, daily_spend_usd=4.0)
        assert (caught.value.asked, caught.value.ceiling) == (3, 2)
        assert await store.guild_settings(5) == GuildSettings(guild_id=5)
        changed = await admin.set_limits(5, by=1, user_concurrent=1, daily_spend_usd=4.0)
        assert (changed.user_concurrent, changed.daily_spend_cap_usd) == (1, 4.0)
        # 0 removes the budget; reset goes back to the operator's limits.
        assert (await admin.set_limits(5, by=1, daily_spend_usd=0)).daily_spend_cap_usd is None
        reset = await admin.set_limits(5, by=1, reset=True)
        assert (reset.user_concurrent, reset.user_daily, reset.daily_spend_cap_usd) == (
            None,
            None,
            None,
        )
