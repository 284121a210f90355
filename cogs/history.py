"""/history and /history-clear: each user's own jobs, privately.

`/history` alone must work, and Discord cannot invoke a command group bare,
so clearing is its own command, `/history-clear`, next to it in the picker.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.history import HistoryPage, HistoryService, StatusFilter, timings
from bot.models import Job, JobStatus
from cogs.animate import Animate
from cogs.animate.rendering import (
    STATE_LABELS,
    describe_options,
    safe_text,
    size_mb,
    state_line,
    timestamp,
)

if TYPE_CHECKING:
    from bot.app import AnimateBot

log = logging.getLogger(__name__)

VIEW_TIMEOUT = 300.0
NOT_FOUND = "I found no job of yours with that number."
NOT_YOURS = "These buttons belong to someone else's /history. Use /history to see your own jobs."
PAGE_PROMPT_CHARS = 120
DESCRIPTION_LIMIT = 4096


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def jump_url(job: Job) -> str | None:
    if job.delivered_channel_id is None or job.delivered_message_id is None:
        return None
    place = job.guild_id if job.guild_id is not None else "@me"
    return f"https://discord.com/channels/{place}/{job.delivered_channel_id}/{job.delivered_message_id}"


def outcome_text(job: Job) -> str:
    url = jump_url(job)
    if url is not None:
        return f"[Open the video]({url})"
    if job.status is JobStatus.DELIVERED and job.video_url:
        return f"[Download the video]({job.video_url}) (the link may expire)"
    if job.error:
        return safe_text(job.error, 200)
    return STATE_LABELS[job.status][1]


def video_text(job: Job) -> str | None:
    """The video as the service made it, and whether the posted copy is a re-encoding."""
    if job.video_url is None or job.video_bytes is None:
        return None
    text = f"[Original]({job.video_url}), {size_mb(job.video_bytes)} (the link may expire)"
    if job.posted_video_bytes is not None:
        text += (
            f"\nThe posted copy was re-encoded ({size_mb(job.posted_video_bytes)}) "
            "to play in Discord and fit the upload limit."
        )
    return text


def page_embed(page: HistoryPage) -> discord.Embed:
    embed = discord.Embed(title="Your videos", colour=discord.Colour.blurple())
    if not page.jobs:
        embed.description = (
            "No jobs yet." if page.status is StatusFilter.ALL else f"No jobs match “{page.status}”."
        ) + " Use /animate to make one."
    lines = []
    for job in page.jobs:
        icon = STATE_LABELS[job.status][0]
        took = timings(job).total
        lines.append(
            f"{icon} **#{job.id}** · {timestamp(job.created_at)} · "
            f"{job.options.resolution} · {job.options.duration} s · {job.options.ratio}"
            + (f" · took {duration_text(took)}" if took is not None else "")
            + f"\n> {safe_text(job.prompt.replace(chr(10), ' '), PAGE_PROMPT_CHARS)}"
            + f"\n{outcome_text(job)}"
        )
    if lines:
        # Ten entries fit well inside the limit; trimming is only a safety net.
        embed.description = "\n\n".join(lines)[:DESCRIPTION_LIMIT]
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {page.total} jobs · showing {page.status}"
    )
    return embed


def detail_embed(job: Job) -> discord.Embed:
    embed = discord.Embed(
        title=f"Job #{job.id}",
        description=safe_text(job.prompt, 4000),
        colour=discord.Colour.blurple(),
    )
    image = job.image
    size = f"{image.width}x{image.height} px {image.format}, {image.size_bytes / 1e6:.1f} MB"
    if image.fitted and image.original_width and image.original_height:
        size += f" (resized from {image.original_width}x{image.original_height})"
    spent = timings(job)
    embed.add_field(name="State", value=safe_text(state_line(job), 1024), inline=False)
    embed.add_field(name="Options", value=describe_options(job.options), inline=False)
    embed.add_field(name="Image", value=safe_text(f"{image.filename}: {size}", 1024), inline=False)
    embed.add_field(name="Started", value=timestamp(job.created_at, "f"))
    embed.add_field(name="Queued", value=duration_text(spent.queued))
    embed.add_field(name="Rendering", value=duration_text(spent.rendering))
    embed.add_field(name="Result", value=outcome_text(job)[:1024], inline=False)
    video = video_text(job)
    if video is not None:
        embed.add_field(name="Video", value=video[:1024], inline=False)
    if job.request_id:
        embed.add_field(name="RunComfy request", value=f"`{job.request_id}`")
    if job.cost is not None:
        embed.add_field(name="Cost", value=f"${job.cost:.2f}")
    return embed


class OwnedView(discord.ui.View):
    """Only the user who ran the command may press; disabled when it times out."""

    # Live views, so that unloading the cog (shutdown) stops their timers.
    live: ClassVar[weakref.WeakSet[OwnedView]] = weakref.WeakSet()

    def __init__(self, owner_id: int, interaction: discord.Interaction) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.owner_id = owner_id
        self.interaction = interaction
        OwnedView.live.add(self)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        # If the message is gone or its token expired there is nothing to disable.
        with contextlib.suppress(discord.HTTPException):
            await self.interaction.edit_original_response(view=self)


class PageView(OwnedView):
    def __init__(
        self, cog: History, owner_id: int, interaction: discord.Interaction, page: HistoryPage
    ) -> None:
        super().__init__(owner_id, interaction)
        self.cog = cog
        self.page = page
        self._sync()

    def _sync(self) -> None:
        page = self.page
        self.first.disabled = self.previous.disabled = page.is_first
        self.next.disabled = self.last.disabled = page.is_last
        self.position.label = f"Page {page.page + 1} of {page.pages}"
        self.pick.options = [
            discord.SelectOption(
                label=f"#{job.id} · {job.prompt[:80]}",
                value=str(job.id),
                emoji=STATE_LABELS[job.status][0],
                description=describe_options(job.options)[:100],
            )
            for job in page.jobs
        ] or [discord.SelectOption(label="No jobs", value="0")]
        self.pick.disabled = not page.jobs

    async def _show(self, interaction: discord.Interaction, page_number: int) -> None:
        self.page = await self.cog.service.page(
            self.owner_id, status=self.page.status, page=page_number
        )
        self._sync()
        await interaction.response.edit_message(embed=page_embed(self.page), view=self)

    @discord.ui.button(label="«", style=discord.ButtonStyle.secondary, row=0)
    async def first(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, 0)

    @discord.ui.button(label="‹", style=discord.ButtonStyle.secondary, row=0)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.page - 1)

    @discord.ui.button(label="Page", style=discord.ButtonStyle.secondary, disabled=True, row=0)
    async def position(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        pass  # a label, never pressable

    @discord.ui.button(label="›", style=discord.ButtonStyle.secondary, row=0)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.page + 1)

    @discord.ui.button(label="»", style=discord.ButtonStyle.secondary, row=0)
    async def last(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.pages - 1)

    @discord.ui.select(cls=discord.ui.Select, placeholder="Show the details of a job", row=1)
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        job = await self.cog.service.job(self.owner_id, int(select.values[0]))
        if job is None:
            await interaction.response.send_message(NOT_FOUND, ephemeral=True)
            return
        view = DetailView(self.cog, self.owner_id, interaction, job, back=self.page)
        await interaction.response.edit_message(embed=detail_embed(job), view=view)
        self.stop()


class DetailView(OwnedView):
    def __init__(
        self,
        cog: History,
        owner_id: int,
        interaction: discord.Interaction,
        job: Job,
        *,
        back: HistoryPage | None,
    ) -> None:
        super().__init__(owner_id, interaction)
        self.cog = cog
        self.job = job
        self.back = back
        if back is None:
            self.remove_item(self.to_list)

    @discord.ui.button(label="Animate again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        animate = self.cog.bot.get_cog("Animate")
        if not isinstance(animate, Animate):
            await interaction.response.send_message("/animate is not available.", ephemeral=True)
            return
        await animate.animate_again(interaction, self.job)

    @discord.ui.button(label="Back to the list", style=discord.ButtonStyle.secondary)
    async def to_list(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        assert self.back is not None
        page = await self.cog.service.page(
            self.owner_id, status=self.back.status, page=self.back.page
        )
        view = PageView(self.cog, self.owner_id, interaction, page)
        await interaction.response.edit_message(embed=page_embed(page), view=view)
        self.stop()


class ClearView(OwnedView):
    def __init__(
        self, service: HistoryService, owner_id: int, interaction: discord.Interaction
    ) -> None:
        super().__init__(owner_id, interaction)
        self.service = service

    @discord.ui.button(label="Delete all my jobs", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        deleted = await self.service.clear(self.owner_id)
        await interaction.response.edit_message(
            content=f"Deleted {deleted} jobs from your history.", view=None
        )
        self.stop()

    @discord.ui.button(label="Keep them", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)
        self.stop()


class History(commands.Cog):
    def __init__(self, bot: AnimateBot, service: HistoryService) -> None:
        self.bot = bot
        self.service = service

    async def cog_unload(self) -> None:
        for view in list(OwnedView.live):
            view.stop()

    @app_commands.command(name="history", description="Your own /animate jobs (only you see them)")
    @app_commands.describe(
        status="Show only jobs in this state (default: all)",
        job="A job number, to see everything about it",
    )
    async def history(
        self,
        interaction: discord.Interaction,
        status: Literal["all", "delivered", "in progress", "failed", "cancelled"] = "all",
        job: app_commands.Range[int, 1] | None = None,
    ) -> None:
        user_id = interaction.user.id
        if job is not None:
            found = await self.service.job(user_id, job)
            if found is None:
                await interaction.response.send_message(NOT_FOUND, ephemeral=True)
                return
            view = DetailView(self, user_id, interaction, found, back=None)
            await interaction.response.send_message(
                embed=detail_embed(found), view=view, ephemeral=True
            )
            return
        page = await self.service.page(user_id, status=StatusFilter(status))
        await interaction.response.send_message(
            embed=page_embed(page),
            view=PageView(self, user_id, interaction, page),
            ephemeral=True,
        )

    @app_commands.command(
        name="history-clear", description="Delete your whole /animate history (asks first)"
    )
    async def history_clear(self, interaction: discord.Interaction) -> None:
        total = await self.service.store.count_for_user(interaction.user.id)
        if total == 0:
            await interaction.response.send_message(
                "Your history is already empty.", ephemeral=True
            )
            return
        await interaction.response.send_message(
            f"Delete all {total} of your jobs, prompts included? This cannot be undone.",
            view=ClearView(self.service, interaction.user.id, interaction),
            ephemeral=True,
        )


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(History(bot, HistoryService(bot.services.store)))
