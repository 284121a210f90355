"""How /history shows jobs: its pages and a job's details, in the reader's words.

Pure: a page or a job (and a `Messages`) in, an embed or a sentence out.
"""

from __future__ import annotations

import discord

from bot.domain import Job, JobStatus
from bot.history import HistoryPage, StatusFilter, timings
from bot.i18n import Messages
from cogs.common.words import (
    STATE_ICONS,
    duration_text,
    failure_text,
    options_text,
    safe_text,
    service_said,
    state_text,
    state_words,
    timestamp,
)

PAGE_PROMPT_CHARS = 120
DESCRIPTION_LIMIT = 4096
PROMPT_IN_DETAIL = 4000  # of the description's 4,096, escaped
EMBED_TOTAL = 6000  # Discord's most characters over one embed's texts
BYTES_PER_MB = 1e6
# Longer video links are not shown: cut to fit, a link leads nowhere.
DETAIL_URL_MAX = 900  # with its words, within a field's 1,024 characters
PAGE_URL_MAX = 200  # ten rows within the page's 4,096
# The filter's choice in the picker, in the reader's words.
FILTER_KEYS: dict[StatusFilter, str] = {
    StatusFilter.ALL: "history.choice.all",
    StatusFilter.DELIVERED: "history.choice.delivered",
    StatusFilter.IN_PROGRESS: "history.choice.in_progress",
    StatusFilter.FAILED: "history.choice.failed",
    StatusFilter.CANCELLED: "history.choice.cancelled",
}


def jump_url(job: Job) -> str | None:
    """A link that opens the posted video: None for a private one (an ephemeral message,
    which no link opens). A video sent elsewhere than its channel went by DM (`@me`)."""
    if job.delivered_channel_id is None or job.delivered_message_id is None:
        return None
    in_its_channel = job.delivered_channel_id == job.channel_id
    if in_its_channel and job.visibility.private:
        return None
    place = job.guild_id if job.guild_id is not None and in_its_channel else "@me"
    return f"https://discord.com/channels/{place}/{job.delivered_channel_id}/{job.delivered_message_id}"


def outcome_text(job: Job, t: Messages, *, in_page: bool = False) -> str:
    url = jump_url(job)
    if url is not None:
        return t("history.outcome.open", url=url)
    if job.status is JobStatus.DELIVERED and job.video_url:
        if len(job.video_url) <= (PAGE_URL_MAX if in_page else DETAIL_URL_MAX):
            return t("history.outcome.download", url=job.video_url)
        if in_page:
            return t("history.outcome.download_in_detail", id=job.id)
        return t("history.outcome.link_too_long")
    return failure_text(job, t) or state_words(job.status, t)


def video_text(job: Job, t: Messages) -> str | None:
    """The video as the service made it, and whether the posted copy is a re-encoding."""
    if job.video_url is None or job.video_bytes is None:
        return None
    size = size_text(job.video_bytes, t)
    if len(job.video_url) <= DETAIL_URL_MAX:
        text = t("history.video.original", url=job.video_url, size=size)
    else:
        text = t("history.video.original_unlinked", size=size)
    if job.posted_video_bytes is not None:
        text += "\n" + t("history.video.reencoded", size=size_text(job.posted_video_bytes, t))
    return text


def size_text(size: int, t: Messages) -> str:
    return t("history.video.size", mb=t.number(size / (1024 * 1024), 1))


def page_row(job: Job, t: Messages) -> str:
    took = timings(job).total
    summary = options_text(job.model_id, job.options, t)
    head = t(
        "history.row",
        icon=STATE_ICONS[job.status],
        state=state_words(job.status, t),
        id=job.id,
        created=timestamp(job.created_at),
        options=summary,
    )
    if took is not None:
        head += " · " + t("history.row.took", duration=duration_text(took, t))
    prompt = safe_text(job.prompt.replace("\n", " "), PAGE_PROMPT_CHARS)
    return f"{head}\n> {prompt}\n{outcome_text(job, t, in_page=True)}"


def page_embed(page: HistoryPage, t: Messages) -> discord.Embed:
    embed = discord.Embed(title=t("history.title"), colour=discord.Colour.blurple())
    status = t(FILTER_KEYS[page.status])
    if not page.jobs:
        embed.description = (
            t("history.empty")
            if page.status is StatusFilter.ALL
            else t("history.empty_filtered", status=status)
        )
    lines = [page_row(job, t) for job in page.jobs]
    if lines:
        # Ten entries fit well inside the limit; trimming is only a safety net.
        embed.description = "\n\n".join(lines)[:DESCRIPTION_LIMIT]
    embed.set_footer(
        text=" · ".join(
            (
                page_position(page, t),
                t.plural("history.jobs", page.total),
                t("history.showing", status=status),
            )
        )
    )
    return embed


def page_position(page: HistoryPage, t: Messages) -> str:
    return t("history.page", page=t.number(page.page + 1), pages=t.number(page.pages))


def image_text(job: Job, t: Messages) -> str:
    image = job.image
    facts = t(
        "history.detail.image_facts",
        filename=image.filename,
        width=image.width,
        height=image.height,
        format=image.format,
        megabytes=t.number(image.size_bytes / BYTES_PER_MB, 1),
    )
    if image.fitted and image.original_width and image.original_height:
        facts = t(
            "history.detail.resized",
            facts=facts,
            width=image.original_width,
            height=image.original_height,
        )
    return facts


def detail_embed(job: Job, t: Messages) -> discord.Embed:
    embed = discord.Embed(
        title=t("history.detail.title", id=job.id), colour=discord.Colour.blurple()
    )
    spent = timings(job)
    embed.add_field(
        name=t("history.detail.state"), value=safe_text(state_text(job, t), 1024), inline=False
    )
    embed.add_field(
        name=t("history.detail.options"),
        value=options_text(job.model_id, job.options, t),
        inline=False,
    )
    embed.add_field(
        name=t("history.detail.image"), value=safe_text(image_text(job, t), 1024), inline=False
    )
    embed.add_field(name=t("history.detail.started"), value=timestamp(job.created_at, "f"))
    embed.add_field(name=t("history.detail.queued"), value=duration_text(spent.queued, t))
    embed.add_field(name=t("history.detail.rendering"), value=duration_text(spent.rendering, t))
    embed.add_field(
        name=t("history.detail.result"), value=outcome_text(job, t)[:1024], inline=False
    )
    video = video_text(job, t)
    if video is not None:
        embed.add_field(name=t("history.detail.video"), value=video[:1024], inline=False)
    said = service_said(job)
    if said is not None:
        embed.add_field(name=t("history.detail.service_said"), value=said, inline=False)
    if job.request_id:
        embed.add_field(name=t("history.detail.reference"), value=f"`{job.request_id}`")
    if job.cost is not None:
        embed.add_field(name=t("history.detail.cost"), value=t.money(job.cost))
    # Discord refuses an embed over 6,000 characters in all: the prompt gives way.
    embed.description = safe_text(job.prompt, min(PROMPT_IN_DETAIL, EMBED_TOTAL - len(embed)))
    return embed


def clear_question(count: int, t: Messages) -> str:
    return t.plural("history_clear.question", count)


def cleared_text(count: int, t: Messages) -> str:
    return t.plural("history_clear.done", count)
