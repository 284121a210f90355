"""/history and /history-clear: each user's own jobs, privately.

`/history` alone must work, and Discord cannot invoke a command group bare,
so clearing is its own command, `/history-clear`, next to it in the picker.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain import Job, JobStatus
from bot.history import HistoryPage, HistoryService, StatusFilter, timings
from bot.i18n import Messages
from cogs.animate import Animate
from cogs.animate.rendering import STATE_LABELS, safe_text, timestamp
from cogs.common.presses import PressLedger
from cogs.common.translator import command_text, user_messages
from cogs.common.words import duration_text, options_text, state_text, state_words

if TYPE_CHECKING:
    from app.client import AnimateBot

log = logging.getLogger(__name__)

VIEW_TIMEOUT = 300.0
# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po); the sentences live there.
NOT_FOUND = "history.not_found"
NOT_YOURS = "history.not_yours"
ALREADY_STARTED = "history.already_started"
ANIMATE_UNAVAILABLE = "history.animate_unavailable"
NOTHING_TO_CLEAR = "history_clear.nothing"
NOTHING_DELETED = "history_clear.kept"
PAGE_PROMPT_CHARS = 120
DESCRIPTION_LIMIT = 4096
BYTES_PER_MB = 1e6
# The filter's choice in the picker, in the reader's words.
FILTER_KEYS: dict[StatusFilter, str] = {
    StatusFilter.ALL: "history.choice.all",
    StatusFilter.DELIVERED: "history.choice.delivered",
    StatusFilter.IN_PROGRESS: "history.choice.in_progress",
    StatusFilter.FAILED: "history.choice.failed",
    StatusFilter.CANCELLED: "history.choice.cancelled",
}


def jump_url(job: Job) -> str | None:
    if job.delivered_channel_id is None or job.delivered_message_id is None:
        return None
    place = job.guild_id if job.guild_id is not None else "@me"
    return f"https://discord.com/channels/{place}/{job.delivered_channel_id}/{job.delivered_message_id}"


def outcome_text(job: Job, t: Messages) -> str:
    url = jump_url(job)
    if url is not None:
        return t("history.outcome.open", url=url)
    if job.status is JobStatus.DELIVERED and job.video_url:
        return t("history.outcome.download", url=job.video_url)
    if job.error:
        return safe_text(job.error, 200)
    return state_words(job.status, t)


def video_text(job: Job, t: Messages) -> str | None:
    """The video as the service made it, and whether the posted copy is a re-encoding."""
    if job.video_url is None or job.video_bytes is None:
        return None
    text = t("history.video.original", url=job.video_url, size=size_text(job.video_bytes, t))
    if job.posted_video_bytes is not None:
        text += "\n" + t("history.video.reencoded", size=size_text(job.posted_video_bytes, t))
    return text


def size_text(size: int, t: Messages) -> str:
    return t("history.video.size", mb=t.number(size / (1024 * 1024), 1))


def page_row(job: Job, t: Messages) -> str:
    took = timings(job).total
    options = job.options
    summary = " · ".join(
        (
            options.resolution,
            t("job.options.seconds", duration=t.number(options.duration)),
            options.ratio,
        )
    )
    head = t(
        "history.row",
        icon=STATE_LABELS[job.status][0],
        state=state_words(job.status, t),
        id=job.id,
        created=timestamp(job.created_at),
        options=summary,
    )
    if took is not None:
        head += " · " + t("history.row.took", duration=duration_text(took, t))
    prompt = safe_text(job.prompt.replace("\n", " "), PAGE_PROMPT_CHARS)
    return f"{head}\n> {prompt}\n{outcome_text(job, t)}"


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
        title=t("history.detail.title", id=job.id),
        description=safe_text(job.prompt, 4000),
        colour=discord.Colour.blurple(),
    )
    spent = timings(job)
    embed.add_field(
        name=t("history.detail.state"), value=safe_text(state_text(job, t), 1024), inline=False
    )
    embed.add_field(
        name=t("history.detail.options"), value=options_text(job.options, t), inline=False
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
    if job.request_id:
        embed.add_field(name=t("history.detail.reference"), value=f"`{job.request_id}`")
    if job.cost is not None:
        embed.add_field(name=t("history.detail.cost"), value=t.money(job.cost))
    return embed


class OwnedView(discord.ui.View):
    """Only the user who ran the command may press; disabled when it times out."""

    # Live views, so that unloading the cog (shutdown) stops their timers.
    live: ClassVar[weakref.WeakSet[OwnedView]] = weakref.WeakSet()

    def __init__(self, owner_id: int, interaction: discord.Interaction) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.owner_id = owner_id
        self.interaction = interaction
        # The owner's language, for every page and detail this view shows them.
        self.t = user_messages(interaction)
        OwnedView.live.add(self)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        refusal = user_messages(interaction)(NOT_YOURS)
        await interaction.response.send_message(refusal, ephemeral=True)
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
        # Words, not « ‹ › »: page 1 holds the newest jobs.
        self.first.label = self.t("history.pager.newest")
        self.previous.label = self.t("history.pager.newer")
        self.next.label = self.t("history.pager.older")
        self.last.label = self.t("history.pager.oldest")
        self.position.label = page_position(page, self.t)
        self.pick.placeholder = self.t("history.pick.placeholder")
        self.pick.options = [
            discord.SelectOption(
                label=f"#{job.id} · {job.prompt[:80]}",
                value=str(job.id),
                emoji=STATE_LABELS[job.status][0],
                description=options_text(job.options, self.t)[:100],
            )
            for job in page.jobs
        ] or [discord.SelectOption(label=self.t("history.pick.none"), value="0")]
        self.pick.disabled = not page.jobs

    async def _show(self, interaction: discord.Interaction, page_number: int) -> None:
        self.page = await self.cog.service.page(
            self.owner_id, status=self.page.status, page=page_number
        )
        self._sync()
        await interaction.response.edit_message(embed=page_embed(self.page, self.t), view=self)

    @discord.ui.button(label="Newest", style=discord.ButtonStyle.secondary, row=0)
    async def first(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, 0)

    @discord.ui.button(label="Newer", style=discord.ButtonStyle.secondary, row=0)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.page - 1)

    @discord.ui.button(label="Page", style=discord.ButtonStyle.secondary, disabled=True, row=0)
    async def position(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        pass  # a label, never pressable

    @discord.ui.button(label="Older", style=discord.ButtonStyle.secondary, row=0)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.page + 1)

    @discord.ui.button(label="Oldest", style=discord.ButtonStyle.secondary, row=0)
    async def last(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page.pages - 1)

    @discord.ui.select(cls=discord.ui.Select, placeholder="Show the details of a job", row=1)
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        job = await self.cog.service.job(self.owner_id, int(select.values[0]))
        if job is None:
            await interaction.response.send_message(self.t(NOT_FOUND), ephemeral=True)
            return
        view = DetailView(self.cog, self.owner_id, interaction, job, back=self.page)
        await interaction.response.edit_message(embed=detail_embed(job, self.t), view=view)
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
        self.to_list.label = self.t("history.back")
        self.again.label = self.t("history.again")
        if back is None:
            self.remove_item(self.to_list)
        # The message is known when this view replaces another one on it.
        if interaction.message is not None:
            self.again.disabled = cog.presses.claimed(self._press_key(interaction.message.id))
        self._pressed = False

    def _press_key(self, message_id: int | None) -> tuple[str, int | None, int | None]:
        return ("again", message_id, self.job.id)

    @discord.ui.button(label="Animate again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        animate = self.cog.bot.get_cog("Animate")
        if not isinstance(animate, Animate):
            await interaction.response.send_message(
                user_messages(interaction)(ANIMATE_UNAVAILABLE), ephemeral=True
            )
            return
        # One press, one job: claimed before any await, so a second interaction
        # delivered before the button is disabled is refused.
        key = self._press_key(interaction.message.id if interaction.message else None)
        if self._pressed or not self.cog.presses.claim(key):
            await interaction.response.send_message(
                user_messages(interaction)(ALREADY_STARTED), ephemeral=True
            )
            return
        self._pressed = True

        async def disable() -> None:
            button.disabled = True
            # The view's own message; if it is gone there is nothing to disable.
            with contextlib.suppress(discord.HTTPException):
                await self.interaction.edit_original_response(view=self)

        if not await animate.animate_again(interaction, self.job, accepted=disable):
            self._pressed = False  # refused (a quota): nothing started, may press again
            self.cog.presses.release(key)

    @discord.ui.button(label="Back to the list", style=discord.ButtonStyle.secondary)
    async def to_list(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        assert self.back is not None
        page = await self.cog.service.page(
            self.owner_id, status=self.back.status, page=self.back.page
        )
        view = PageView(self.cog, self.owner_id, interaction, page)
        await interaction.response.edit_message(embed=page_embed(page, view.t), view=view)
        self.stop()


def clear_question(count: int, t: Messages) -> str:
    return t.plural("history_clear.question", count)


def cleared_text(count: int, t: Messages) -> str:
    return t.plural("history_clear.done", count)


class ClearView(OwnedView):
    def __init__(
        self, service: HistoryService, owner_id: int, interaction: discord.Interaction
    ) -> None:
        super().__init__(owner_id, interaction)
        self.service = service
        self.confirm.label = self.t("history_clear.confirm")
        self.keep.label = self.t("history_clear.keep")

    @discord.ui.button(label="Delete my finished jobs", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        deleted = await self.service.clear(self.owner_id)
        await interaction.response.edit_message(content=cleared_text(deleted, self.t), view=None)
        self.stop()

    @discord.ui.button(label="Keep them", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content=self.t(NOTHING_DELETED), view=None)
        self.stop()


class History(commands.Cog):
    def __init__(self, bot: AnimateBot, service: HistoryService) -> None:
        self.bot = bot
        self.service = service
        self.presses = PressLedger()

    async def cog_unload(self) -> None:
        for view in list(OwnedView.live):
            view.stop()

    @app_commands.command(name="history", description=command_text("history.command.description"))
    @app_commands.describe(
        status=command_text("history.option.status"),
        job=command_text("history.option.job"),
    )
    @app_commands.choices(
        status=[
            app_commands.Choice(name=command_text(key), value=status.value)
            for status, key in FILTER_KEYS.items()
        ]
    )
    async def history(
        self,
        interaction: discord.Interaction,
        status: str = StatusFilter.ALL.value,
        job: app_commands.Range[int, 1] | None = None,
    ) -> None:
        user_id = interaction.user.id
        t = user_messages(interaction)
        if job is not None:
            found = await self.service.job(user_id, job)
            if found is None:
                await interaction.response.send_message(t(NOT_FOUND), ephemeral=True)
                return
            view = DetailView(self, user_id, interaction, found, back=None)
            await interaction.response.send_message(
                embed=detail_embed(found, t), view=view, ephemeral=True
            )
            return
        page = await self.service.page(user_id, status=StatusFilter(status))
        if page.total == 0:
            # Nothing to page through or pick: the friendly line alone, no dead widgets.
            await interaction.response.send_message(embed=page_embed(page, t), ephemeral=True)
            return
        await interaction.response.send_message(
            embed=page_embed(page, t),
            view=PageView(self, user_id, interaction, page),
            ephemeral=True,
        )

    @app_commands.command(
        name="history-clear", description=command_text("history_clear.command.description")
    )
    async def history_clear(self, interaction: discord.Interaction) -> None:
        t = user_messages(interaction)
        total = await self.service.clearable(interaction.user.id)
        if total == 0:
            await interaction.response.send_message(t(NOTHING_TO_CLEAR), ephemeral=True)
            return
        await interaction.response.send_message(
            clear_question(total, t),
            view=ClearView(self.service, interaction.user.id, interaction),
            ephemeral=True,
        )


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(History(bot, HistoryService(bot.services.store)))
