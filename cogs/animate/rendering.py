"""How jobs look in Discord: status embeds and the sentences users read.

Pure: a job (and its estimate) in, an embed or a sentence out. Public texts speak
the job's stored locale (the server's), so edits after a restart keep it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import discord

from bot import i18n
from bot.domain import Job, JobStatus, Visibility
from bot.eta import Estimate
from bot.failures import FailureKind, failure_kind
from bot.i18n import Messages
from bot.jobs import LinkReason, ProgressNote, VideoStep
from bot.prompts import RECOMMENDED_PROMPT_CHARS, is_long
from cogs.common.words import (
    FAILURE_KEYS,
    STATE_ICONS,
    failure_text,
    options_text,
    safe_text,
    state_text,
    timestamp,
)

CANCEL_EMOJI = "❌"

STATE_COLOURS: dict[JobStatus, discord.Colour] = {
    JobStatus.SUBMITTING: discord.Colour.light_grey(),
    JobStatus.IN_QUEUE: discord.Colour.blurple(),
    JobStatus.IN_PROGRESS: discord.Colour.gold(),
    JobStatus.COMPLETED: discord.Colour.teal(),
    JobStatus.DELIVERED: discord.Colour.green(),
    JobStatus.CANCELLED: discord.Colour.dark_grey(),
    JobStatus.FAILED: discord.Colour.red(),
    JobStatus.TIMED_OUT: discord.Colour.orange(),
    JobStatus.LOST: discord.Colour.dark_orange(),
}
# While these, the job can still be cancelled (RunComfy drops a queued job).
CANCELLABLE = frozenset({JobStatus.SUBMITTING, JobStatus.IN_QUEUE})
PROGRESS_CELLS = 10
PROMPT_IN_DELIVERY = 200


def public_messages(job: Job) -> Messages:
    """The language of a job's public messages: the one stored with it."""
    return i18n.for_locale(job.locale)


def progress_bar(progress: float, t: Messages) -> str:
    # Floor: a cell fills only once it is really reached (95 % is not a full bar).
    filled = int(progress * PROGRESS_CELLS)
    bar = "▰" * filled + "▱" * (PROGRESS_CELLS - filled)
    return t("status.progress", bar=bar, percent=t.number(round(progress * 100)))


def fitted_text(job: Job, t: Messages) -> str | None:
    """Say so when the bot changed the image, with the sizes."""
    image = job.image
    if not image.fitted:
        return None
    width, height = image.original_width, image.original_height
    if width and height and (width, height) != (image.width, image.height):
        return t(
            "status.fitted.resized",
            from_width=width,
            from_height=height,
            width=image.width,
            height=image.height,
        )
    return t("status.fitted.converted", format=image.format, width=image.width, height=image.height)


def price_text(job: Job, t: Messages) -> str | None:
    """The real cost once the video service gave it, else the estimate; None if neither."""
    if job.cost is not None:
        return t.money(job.cost)
    if job.estimate_usd is not None and not job.status.is_final:
        return t("status.price.estimate", price=t.money(job.estimate_usd))
    return None


def progress_line(note: ProgressNote, t: Messages) -> str:
    """What the bot does with a finished video before posting it."""
    if note.step is VideoStep.COMPRESSING:
        return t("status.video.compressing", limit=limit_mb(note.limit_bytes, t))
    return t("status.video.converting")


def status_footer(job: Job, t: Messages) -> str:
    if job.status in CANCELLABLE:
        if not job.channel_reachable:  # no ❌ where reactions never reach the bot
            return t("status.footer.cancellable_button")
        return t("status.footer.cancellable", emoji=CANCEL_EMOJI)
    if not job.status.is_final:
        return t("status.footer.rendering")
    return t("status.footer.final", id=job.id)


def status_embed(
    job: Job,
    estimate: Estimate,
    t: Messages | None = None,
    *,
    note: ProgressNote | None = None,
) -> discord.Embed:
    """The one public status message of a job: job and estimates in, embed out.

    The cost shown is the job's estimate (≈) until RunComfy gave its real cost;
    `note` says what the bot does with the finished video before posting it.
    """
    t = t or public_messages(job)
    icon = STATE_ICONS[job.status]
    embed = discord.Embed(
        title=f"{icon} {t(f'job.state.{job.status.value}')}",
        description=safe_text(job.prompt, 1000),
        colour=STATE_COLOURS[job.status],
    )
    state = state_text(job, t)
    if note is not None and job.status is JobStatus.COMPLETED:
        state = progress_line(note, t)
    embed.add_field(name=t("status.field.state"), value=safe_text(state, 1024), inline=False)
    embed.add_field(
        name=t("status.field.options"),
        value=options_text(job.model_id, job.options, t),
        inline=False,
    )
    embed.add_field(name=t("status.field.started"), value=timestamp(job.created_at))
    if not job.status.is_final and job.status is not JobStatus.COMPLETED:
        if estimate.overdue:
            embed.add_field(name=t("status.field.expected"), value=t("status.overdue"))
        elif estimate.expected_end is not None:
            embed.add_field(name=t("status.field.expected"), value=timestamp(estimate.expected_end))
        if estimate.progress is not None:
            embed.add_field(
                name=t("status.field.progress"),
                value=progress_bar(estimate.progress, t),
                inline=False,
            )
    elif job.finished_at:
        embed.add_field(name=t("status.field.finished"), value=timestamp(job.finished_at))
    cost = price_text(job, t)
    if cost is not None:
        embed.add_field(name=t("status.field.cost"), value=cost)
    fitted = fitted_text(job, t)
    if fitted is not None:
        embed.add_field(name=t("status.field.image"), value=fitted, inline=False)
    if job.visibility is Visibility.FORCED_PRIVATE:
        # Asked public, made private by the server: say so, and why, once it shows.
        embed.add_field(
            name=t("status.field.note"), value=t("status.note.forced_private"), inline=False
        )
    if is_long(job.prompt) and not job.status.is_final:
        embed.add_field(
            name=t("status.field.note"),
            value=t("status.note.long_prompt", chars=t.number(RECOMMENDED_PROMPT_CHARS)),
            inline=False,
        )
    hosted = hosted_filename(job)
    if hosted is not None:
        embed.set_thumbnail(url=f"attachment://{hosted}")
    embed.set_footer(text=status_footer(job, t))
    return embed


def hosted_filename(job: Job) -> str | None:
    """Name of the input image attached to the status message, if there is one."""
    if job.image_url is None:
        return None
    return urlsplit(job.image_url).path.rsplit("/", 1)[-1] or None


def video_filename(job_id: int | None) -> str:
    """The name the bot uploads a job's video under."""
    return f"animate-{job_id}.mp4"


def is_video_of(filename: str, job_id: int | None) -> bool:
    """A job's uploaded video, marked as a spoiler (SPOILER_…) or not."""
    return filename.removeprefix("SPOILER_") == video_filename(job_id)


def delivered_video(message: discord.Message | None, job_id: int) -> discord.Attachment | None:
    """The video the bot uploaded for `job_id` on `message` (a spoiler still is)."""
    if message is None:
        return None
    return next((a for a in message.attachments if is_video_of(a.filename, job_id)), None)


def shared_message(job: Job, mention: str, t: Messages) -> str:
    """A private video posted to the channel by its author: who made it, the prompt."""
    details = options_text(job.model_id, job.options, t)
    prompt = safe_text(job.prompt.replace("\n", " "), PROMPT_IN_DELIVERY)
    return f"{t('share.post', mention=mention)}\n> {prompt}\n{details}"


def ended_message(job: Job, mention: str) -> str:
    """The public message that tells the author how a job without a video ended."""
    t = public_messages(job)
    if job.status is JobStatus.CANCELLED:
        return t("ended.cancelled", mention=mention)
    if failure_kind(job) is FailureKind.NOT_POSTED:  # made: "could not be made" would be false
        return t("ended.not_posted", mention=mention, url=job.video_url or "")
    reason = failure_text(job, t) or t(FAILURE_KEYS[FailureKind.OTHER])
    return t("ended.failed", mention=mention, reason=reason)


def delivered_message(job: Job, mention: str) -> str:
    """The video's message: who it is for, the prompt (shortened), the options, the cost."""
    t = public_messages(job)
    details = options_text(job.model_id, job.options, t)
    if job.cost is not None:
        details += " · " + t("delivery.cost", cost=t.money(job.cost))
    prompt = safe_text(job.prompt.replace("\n", " "), PROMPT_IN_DELIVERY)
    return f"{t('delivery.ready', mention=mention)}\n> {prompt}\n{details}"


# Why there is only a link, by reason; None: the upload itself was refused (413).
LINK_KEYS: dict[LinkReason | None, str] = {
    None: "delivery.link",
    LinkReason.TOO_LARGE: "delivery.link.too_large_compressed",
    LinkReason.DAMAGED: "delivery.link.damaged",
    LinkReason.UNAVAILABLE: "delivery.link.unavailable",
    LinkReason.NOT_UPLOADED: "delivery.link.not_uploaded",
}


def link_message(job: Job, mention: str, limit: int, why: LinkReason | None) -> str:
    """The video as a link, and truthfully why (never "too large" for a 404)."""
    t = public_messages(job)
    limit_text = t("size.mb", mb=t.number(limit / (1024 * 1024), 1))
    text = t(LINK_KEYS[why], mention=mention, url=job.video_url or "", limit=limit_text)
    if job.cost is not None:
        text += "\n" + t("delivery.cost", cost=t.money(job.cost))
    return text


def size_mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def limit_mb(size: int, t: Messages) -> str:
    """An upload limit as servers state it: "10 MB", "0.2 MB" (in the reader's numbers)."""
    return t("size.mb", mb=t.number(round(size / (1024 * 1024), 1)))
