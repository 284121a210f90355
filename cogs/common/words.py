"""A job in the reader's words, for any cog to show: safe text, times, states, options.

Pure functions of a job (or a value) and a `Messages`; the sentences live in the
catalogs (bot/locales/*/LC_MESSAGES/messages.po).
"""

from __future__ import annotations

from functools import lru_cache

import discord

from bot import i18n
from bot.domain import Job, JobStatus, Scalar
from bot.failures import FailureKind, failure_kind, service_words
from bot.i18n import Messages
from bot.models.model import display_name
from bot.models.options import role_of

# The icon before a state's words (the words are the catalogs' `job.state.*`).
STATE_ICONS: dict[JobStatus, str] = {
    JobStatus.SUBMITTING: "⏳",
    JobStatus.IN_QUEUE: "🕒",
    JobStatus.IN_PROGRESS: "🎞️",
    JobStatus.COMPLETED: "📦",
    JobStatus.DELIVERED: "✅",
    JobStatus.CANCELLED: "🛑",
    JobStatus.FAILED: "⚠️",
    JobStatus.TIMED_OUT: "⌛",
    JobStatus.LOST: "❓",
}
# Catalog keys of the failure sentences, by kind (never the stored error itself).
FAILURE_KEYS: dict[FailureKind, str] = {
    kind: f"status.failure.{kind.value}" for kind in FailureKind
}
SERVICE_WORDS_SHOWN = 500
# Of a job's options, what a message shows: a schema may name a field in 5,000 characters
# (as long as a Discord option's name here) and list dozens of options (an embed field's).
FIELD_SHOWN = 32
OPTIONS_SHOWN = 1000


# Each status edit shows the job's prompt and options again: escaped and worded once.
@lru_cache(maxsize=4096)
def safe_text(text: str, limit: int) -> str:
    """Escape Markdown and mentions, then trim to `limit` characters."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    if len(escaped) <= limit:
        return escaped
    return escaped[: limit - 1].rstrip("\\") + "…"


def timestamp(unix: float, style: str = "R") -> str:
    """A Discord timestamp: it renders (and ticks) in each reader's locale."""
    return f"<t:{int(unix)}:{style}>"


def options_text(model_id: str, options: dict[str, Scalar], t: Messages) -> str:
    """A job's model and options in one line: "Seedance v1.5 pro · 480p · 5 s · audio on".

    Options with a common role read as the catalogs write them; any other as its field.
    """
    parts = [display_name(model_id)]
    for field, value in options.items():
        role = role_of(field)
        label = value_label(role, value, t)
        if role is None:
            label = t("job.options.field", field=_shortened(field, FIELD_SHOWN), value=label)
        parts.append(label)
    return _shortened(" · ".join(parts), OPTIONS_SHOWN)


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def value_label(role: str | None, value: Scalar, t: Messages) -> str:
    """An option's value as users read it: the catalogs' words for a role's value
    (`job.options.<role>[.on|.off]`: "5 s", "audio on"), a choice's (`choice_name.<value>`:
    "adaptive" in French), else the value itself."""
    if isinstance(value, bool):
        switch = "on" if value else "off"
        key = f"job.options.{role}.{switch}"
        return t(key) if role is not None and _known(key) else t(f"job.options.{switch}")
    shown = t.number(value) if isinstance(value, int | float) else str(value)
    if role is not None and _known(f"job.options.{role}"):
        return t(f"job.options.{role}", value=shown)
    if isinstance(value, str) and _known(f"choice_name.{value}"):
        return t(f"choice_name.{value}")
    return shown


def _known(key: str) -> bool:
    """A catalog key the English source has (every other language falls back to it)."""
    return i18n.english().has(key)


def duration_text(seconds: float | None, t: Messages) -> str:
    if seconds is None:
        return t("duration.unknown")
    minutes, secs = divmod(round(seconds), 60)
    if minutes:
        return t("duration.minutes", minutes=t.number(minutes), seconds=f"{secs:02d}")
    return t("duration.seconds", seconds=t.number(secs))


def state_words(status: JobStatus, t: Messages) -> str:
    return t(f"job.state.{status.value}")


def failure_text(job: Job, t: Messages) -> str | None:
    """A kind, specific sentence for a failed job; None for jobs that did not fail."""
    kind = failure_kind(job)
    return None if kind is None else t(FAILURE_KEYS[kind])


def state_text(job: Job, t: Messages) -> str:
    """The state in words, with the queue position or what went wrong."""
    words = state_words(job.status, t)
    if job.status is JobStatus.IN_QUEUE and job.queue_position is not None:
        words = t("job.state.queue_position", position=t.number(job.queue_position))
    failure = failure_text(job, t)
    if failure is not None:
        words = t("job.state.with_error", state=words, error=failure)
    return f"{STATE_ICONS[job.status]} {words}"


def service_said(job: Job) -> str | None:
    """The video service's own words about a failure, quoted; only ever shown to its author."""
    words = service_words(job)
    if words is None:
        return None
    return "> " + safe_text(" ".join(words.split()), SERVICE_WORDS_SHOWN)
