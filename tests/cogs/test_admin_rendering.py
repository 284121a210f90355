"""The sentences of prices and refusals: pure functions, no Discord connection."""

from __future__ import annotations

from bot import i18n
from bot.admission import AdmissionRefused, EffectiveLimits, RefusalKind
from bot.domain import (
    GuildSettings,
    ImageFacts,
    Job,
    JobStatus,
    ModelSpend,
    UsageReport,
    UserSpend,
)
from cogs.admin.rendering import settings_text, usage_text
from cogs.animate.rendering import price_text
from cogs.animate.replies import REFUSALS, refusal_message
from tests.fakes.schemas import SEEDANCE_15
from tests.models import job_fields

EN = i18n.english()

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)
INTERNAL_WORDS = ("submit", "request id", "runcomfy", "billed")
EN = i18n.english()


def job(**values: object) -> Job:
    return Job(user_id=1, prompt="p", image=IMAGE, created_at=0.0, **job_fields(), **values)  # type: ignore[arg-type]


def test_price_is_the_real_cost_else_the_estimate_else_nothing() -> None:
    assert price_text(job(status=JobStatus.IN_QUEUE, estimate_usd=0.12), EN) == "≈ $0.12"
    assert price_text(job(status=JobStatus.IN_QUEUE), EN) is None
    assert price_text(job(status=JobStatus.DELIVERED, cost=0.305, estimate_usd=0.12), EN) == "$0.30"
    # A job that ended without a cost shows none (an estimate would be a guess now).
    assert price_text(job(status=JobStatus.CANCELLED, estimate_usd=0.12), EN) is None


def test_refusals_are_kind_and_use_no_internal_words() -> None:
    for kind in RefusalKind:
        text = refusal_message(AdmissionRefused(kind, channel_ids=(5, 6), cap_usd=2.5), EN)
        assert text and not any(word in text.lower() for word in INTERNAL_WORDS), kind
    assert set(REFUSALS) == set(RefusalKind)
    paused = refusal_message(
        AdmissionRefused(RefusalKind.PAUSED, reason="<@&123456789012345678> **now**"), EN
    )
    assert "<@&123456789012345678>" not in paused and "\\*\\*now\\*\\*" in paused
    channels = refusal_message(AdmissionRefused(RefusalKind.CHANNEL, channel_ids=(5, 6)), EN)
    assert "<#5>, <#6>" in channels
    assert "$2.50" in refusal_message(AdmissionRefused(RefusalKind.SPEND_CAP, cap_usd=2.5), EN)


def test_admin_texts() -> None:
    shown = settings_text(
        GuildSettings(guild_id=1, paused=True, pause_reason="tests", allowed_channel_ids=(9,)),
        EffectiveLimits(1, 4, 3.0),
        EN,
        global_pause=False,
    )
    assert "Paused: tests" in shown and "<#9>" in shown and "1 at once, 4 per 24 hours" in shown
    assert "$3.00" in shown
    report = UsageReport(
        jobs=3,
        delivered=2,
        failed=1,
        spend_usd=0.5,
        top_users=[UserSpend(user_id=8, jobs=3, spend_usd=0.5)],
        by_model=[ModelSpend(model_id=SEEDANCE_15, jobs=3, spend_usd=0.5, estimated_usd=0.24)],
    )
    text = usage_text(report, 1, EN)
    assert "last 24 hours" in text and "1. <@8>: $0.50 (3 videos)" in text
    # A model's jobs whose cost is not known yet are said apart, at their estimate.
    assert "Seedance v1.5 pro: 3 videos, $0.50 known, about $0.24 more not yet known" in text
    assert not any(word in text.lower() for word in INTERNAL_WORDS)
