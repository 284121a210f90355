"""The private answers of /animate and its buttons: refusals, image errors, cancels.

Pure functions from a domain outcome and the reader's `Messages` to a sentence; the
sentences themselves live in the catalogs (bot/locales/*/LC_MESSAGES/messages.po).
These answers are ephemeral, so callers pass the reader's own locale.
"""

from __future__ import annotations

from bot.admission import AdmissionRefused, RefusalKind
from bot.i18n import Messages
from bot.jobs import CancelOutcome
from bot.quotas import QuotaExceeded, QuotaKind
from cogs.common.words import safe_text, timestamp

# Catalog keys.
IMAGE_UNREACHABLE = "animate.image_unreachable"
IMAGE_GONE = "animate.image_gone"
STATUS_NOT_POSTED = "animate.status_not_posted"
CANCEL_FAILED = "cancel.failed"
BYTES_PER_MB = 1024 * 1024  # Discord states its upload limits in binary megabytes

# Keyed by each kind's value: a new kind needs only its sentence in the catalogs.
QUOTAS: dict[QuotaKind, str] = {kind: f"quota.{kind.value}" for kind in QuotaKind}
REFUSALS: dict[RefusalKind, str] = {kind: f"refusal.{kind.value}" for kind in RefusalKind}
CANCEL_REPLIES: dict[CancelOutcome, str] = {
    outcome: f"cancel.{outcome.value}" for outcome in CancelOutcome
}


def quota_message(exc: QuotaExceeded, t: Messages) -> str:
    if exc.kind is QuotaKind.USER_DAILY:
        # A Discord timestamp renders in each reader's own language.
        when = timestamp(exc.frees_at) if exc.frees_at else t("quota.tomorrow")
        return t.plural(QUOTAS[exc.kind], exc.limit, when=when)
    return t.plural(QUOTAS[exc.kind], exc.limit)


def refusal_message(exc: AdmissionRefused, t: Messages) -> str:
    """Why a new job may not start; nothing was stored or sent."""
    key = REFUSALS[exc.kind]
    if exc.kind is RefusalKind.PAUSED and exc.reason:
        return t("refusal.paused_because", reason=safe_text(exc.reason, 200))
    if exc.kind is RefusalKind.CHANNEL:
        return t(key, channels=", ".join(f"<#{c}>" for c in exc.channel_ids))
    if exc.kind is RefusalKind.SPEND_CAP:
        return t(key, cap=t.money(exc.cap_usd or 0.0))
    if exc.kind in (RefusalKind.MODEL_MISSING, RefusalKind.MODEL_NOT_ALLOWED) and exc.models:
        return t(f"{key}.others", models=", ".join(exc.models))
    return t(key)


def start_refusal(exc: QuotaExceeded | AdmissionRefused, t: Messages) -> str:
    """Why a new job may not start now: a quota is full, or an admission switch says no."""
    if isinstance(exc, QuotaExceeded):
        return quota_message(exc, t)
    return refusal_message(exc, t)


def cancel_reply(outcome: CancelOutcome | None, t: Messages) -> str:
    """What the person who asked to cancel reads; None is an unexpected failure."""
    return t(CANCEL_FAILED if outcome is None else CANCEL_REPLIES[outcome])


def megabytes(size: int, t: Messages) -> str:
    return t("size.megabytes", megabytes=t.number(size / BYTES_PER_MB, 1))


def resized_too_large(limit: int, t: Messages) -> str:
    """The fitted image is over this server's upload limit, so it cannot be hosted."""
    return t("animate.resized_too_large", limit=megabytes(limit, t))
