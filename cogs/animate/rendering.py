"""How jobs look in Discord: status embeds and the sentences users read."""

from __future__ import annotations

from urllib.parse import urlsplit

import discord

from bot.models import Job, JobOptions, JobStatus
from bot.prompts import RECOMMENDED_PROMPT_CHARS, is_long

CANCEL_EMOJI = "❌"

STATE_LABELS: dict[JobStatus, tuple[str, str]] = {
    JobStatus.SUBMITTING: ("⏳", "Waiting to submit"),
    JobStatus.IN_QUEUE: ("🕒", "Queued"),
    JobStatus.IN_PROGRESS: ("🎞️", "Rendering"),
    JobStatus.COMPLETED: ("📦", "Done, uploading the video"),
    JobStatus.DELIVERED: ("✅", "Done"),
    JobStatus.CANCELLED: ("🛑", "Cancelled"),
    JobStatus.FAILED: ("⚠️", "Failed"),
    JobStatus.TIMED_OUT: ("⌛", "Timed out"),
    JobStatus.LOST: ("❓", "Lost"),
}
STATE_COLOURS: dict[JobStatus, discord.Colour] = {
    JobStatus.DELIVERED: discord.Colour.green(),
    JobStatus.CANCELLED: discord.Colour.light_grey(),
    JobStatus.FAILED: discord.Colour.red(),
    JobStatus.TIMED_OUT: discord.Colour.orange(),
    JobStatus.LOST: discord.Colour.orange(),
}


def safe_text(text: str, limit: int) -> str:
    """Escape Markdown and mentions, then trim to `limit` characters."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    if len(escaped) <= limit:
        return escaped
    return escaped[: limit - 1].rstrip("\\") + "…"


def timestamp(unix: float, style: str = "R") -> str:
    """A Discord timestamp: it renders (and ticks) in each reader's locale."""
    return f"<t:{int(unix)}:{style}>"


def describe_options(options: JobOptions) -> str:
    return " · ".join(
        (
            options.resolution,
            options.ratio,
            f"{options.duration} s",
            "audio on" if options.generate_audio else "no audio",
            "camera fixed" if options.camera_fixed else "camera moves",
        )
    )


def state_line(job: Job) -> str:
    icon, words = STATE_LABELS[job.status]
    if job.status is JobStatus.IN_QUEUE and job.queue_position is not None:
        words = f"Queued, position {job.queue_position}"
    if job.error and job.status in (JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.LOST):
        words = f"{words}: {job.error}"
    return f"{icon} {words}"


def price_text(job: Job, estimate: float | None) -> str | None:
    """The real cost once the video service gave it, else the estimate; None if neither."""
    if job.cost is not None:
        return f"${job.cost:.2f}"
    if estimate is not None and not job.status.is_final:
        return f"≈ ${estimate:.2f}"
    return None


def status_embed(
    job: Job, *, expected_seconds: float, estimate: float | None = None
) -> discord.Embed:
    """The one public status message of a job."""
    embed = discord.Embed(
        title="🎬 Animating your image",
        description=safe_text(job.prompt, 1000),
        colour=STATE_COLOURS.get(job.status, discord.Colour.blurple()),
    )
    embed.add_field(name="State", value=safe_text(state_line(job), 1024), inline=False)
    embed.add_field(name="Options", value=describe_options(job.options), inline=False)
    embed.add_field(name="Started", value=timestamp(job.created_at))
    if not job.status.is_final and job.status is not JobStatus.COMPLETED:
        eta = (job.submitted_at or job.created_at) + expected_seconds
        embed.add_field(name="Expected", value=timestamp(eta))
    elif job.finished_at:
        embed.add_field(name="Finished", value=timestamp(job.finished_at))
    price = price_text(job, estimate)
    if price is not None:
        embed.add_field(name="Cost", value=price)
    if is_long(job.prompt) and not job.status.is_final:
        embed.add_field(
            name="Note",
            value=f"Prompts under {RECOMMENDED_PROMPT_CHARS} characters usually work best.",
            inline=False,
        )
    hosted = hosted_filename(job)
    if hosted is not None:
        embed.set_thumbnail(url=f"attachment://{hosted}")
    if job.status in (JobStatus.SUBMITTING, JobStatus.IN_QUEUE, JobStatus.IN_PROGRESS):
        embed.set_footer(text=f"React {CANCEL_EMOJI} or press Cancel to cancel while it is queued.")
    elif job.id is not None:
        embed.set_footer(text=f"Job #{job.id} · /history shows your jobs")
    return embed


def hosted_filename(job: Job) -> str | None:
    """Name of the input image attached to the status message, if there is one."""
    if job.image_url is None:
        return None
    return urlsplit(job.image_url).path.rsplit("/", 1)[-1] or None


def ready_message(job: Job, mention: str) -> str:
    """The delivery message of an uploaded video; with its real cost when known."""
    return f"{mention} your video is ready! ({describe_options(job.options)}){_cost_note(job)}"


def link_message(job: Job, mention: str, limit: str) -> str:
    """The delivery message when the video is too large to upload here."""
    return (
        f"{mention} your video is ready: {job.video_url}{_cost_note(job)}\n"
        f"It is larger than this server's upload limit ({limit}), so here is a link. "
        "Download it soon: the link may expire."
    )


def _cost_note(job: Job) -> str:
    return f" · cost ${job.cost:.2f}" if job.cost is not None else ""


def ended_message(job: Job, mention: str) -> str:
    """The message that tells the author how a job without a video ended."""
    if job.status is JobStatus.CANCELLED:
        return f"{mention} your video was cancelled. Nothing was charged for it."
    if job.status is JobStatus.TIMED_OUT:
        return f"{mention} your video took too long and was given up. {job.error or ''}".strip()
    if job.status is JobStatus.LOST:
        return f"{mention} your video could not be tracked. {job.error or ''}".strip()
    return f"{mention} your video failed: {job.error or 'the video service could not make it.'}"


def size_mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
