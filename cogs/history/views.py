"""/history's views: the pages, a job's details (with "Animate again"), the clear question.

Each is pressable only by the user who ran the command, and disables itself on timeout.
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

import discord

from bot.domain import Job
from bot.history import HistoryPage, HistoryService
from cogs.common.contracts import AnimateAgain
from cogs.common.presses import PressLedger
from cogs.common.translator import user_messages
from cogs.common.words import STATE_ICONS, options_text
from cogs.history.rendering import cleared_text, detail_embed, page_embed, page_position

VIEW_TIMEOUT = 300.0
# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po); the sentences live there.
NOT_FOUND = "history.not_found"
NOT_YOURS = "history.not_yours"
ALREADY_STARTED = "history.already_started"
ANIMATE_UNAVAILABLE = "history.animate_unavailable"
NOTHING_DELETED = "history_clear.kept"


@dataclass(frozen=True)
class Browsing:
    """What the views of /history use: the user's jobs, and starting one again."""

    service: HistoryService
    # "Animate again" presses that started a job (one press, one job).
    presses: PressLedger
    again: AnimateAgain | None  # None when /animate is not part of this bot


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
        self, browsing: Browsing, owner_id: int, interaction: discord.Interaction, page: HistoryPage
    ) -> None:
        super().__init__(owner_id, interaction)
        self.browsing = browsing
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
                label=self.t("history.pick.label", id=job.id, prompt=job.prompt[:80]),
                value=str(job.id),
                emoji=STATE_ICONS[job.status],
                description=options_text(job.model_id, job.options, self.t)[:100],
            )
            for job in page.jobs
        ] or [discord.SelectOption(label=self.t("history.pick.none"), value="0")]
        self.pick.disabled = not page.jobs

    async def _show(self, interaction: discord.Interaction, page_number: int) -> None:
        self.page = await self.browsing.service.page(
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
        job = await self.browsing.service.job(self.owner_id, int(select.values[0]))
        if job is None:
            await interaction.response.send_message(self.t(NOT_FOUND), ephemeral=True)
            return
        view = DetailView(self.browsing, self.owner_id, interaction, job, back=self.page)
        await interaction.response.edit_message(embed=detail_embed(job, self.t), view=view)
        self.stop()


class DetailView(OwnedView):
    def __init__(
        self,
        browsing: Browsing,
        owner_id: int,
        interaction: discord.Interaction,
        job: Job,
        *,
        back: HistoryPage | None,
    ) -> None:
        super().__init__(owner_id, interaction)
        self.browsing = browsing
        self.job = job
        self.back = back
        self.to_list.label = self.t("history.back")
        self.again.label = self.t("history.again")
        if back is None:
            self.remove_item(self.to_list)
        # The message is known when this view replaces another one on it.
        if interaction.message is not None:
            self.again.disabled = browsing.presses.claimed(self._press_key(interaction.message.id))
        self._pressed = False

    def _press_key(self, message_id: int | None) -> tuple[str, int | None, int | None]:
        return ("again", message_id, self.job.id)

    @discord.ui.button(label="Animate again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        animate = self.browsing.again
        if animate is None:
            await interaction.response.send_message(
                user_messages(interaction)(ANIMATE_UNAVAILABLE), ephemeral=True
            )
            return
        # One press, one job: claimed before any await, so a second interaction
        # delivered before the button is disabled is refused.
        key = self._press_key(interaction.message.id if interaction.message else None)
        if self._pressed or not self.browsing.presses.claim(key):
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
            self.browsing.presses.release(key)

    @discord.ui.button(label="Back to the list", style=discord.ButtonStyle.secondary)
    async def to_list(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        assert self.back is not None
        page = await self.browsing.service.page(
            self.owner_id, status=self.back.status, page=self.back.page
        )
        view = PageView(self.browsing, self.owner_id, interaction, page)
        await interaction.response.edit_message(embed=page_embed(page, view.t), view=view)
        self.stop()


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
