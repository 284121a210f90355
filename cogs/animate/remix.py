"""Modals that ask for a prompt and options: Remix (prefilled) and the "Animate" menu.

A modal lives in this process only (Discord sends its answer within minutes), so,
unlike the buttons that open it, it need not survive a restart. It parses what was
typed and picked and hands a prompt and options to `on_done`; the cog does the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.i18n import Messages
from bot.models import MAX_DURATION, MIN_DURATION, RESOLUTIONS, JobOptions, Resolution
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt

TITLE_LIMIT = 45
OnDone = Callable[[discord.Interaction, str, JobOptions], Awaitable[None]]


class PromptModal(discord.ui.Modal):
    """A prompt (prefilled or not), the resolution and the duration as selects."""

    def __init__(
        self, *, title: str, t: Messages, options: JobOptions, prompt: str, on_done: OnDone
    ) -> None:
        super().__init__(title=title[:TITLE_LIMIT], timeout=600)
        self.base = options
        self.on_done = on_done
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t("modal.prompt"),
            style=discord.TextStyle.paragraph,
            default=prompt[:MAX_PROMPT_CHARS] or None,
            placeholder=t("modal.prompt.placeholder"),
            max_length=MAX_PROMPT_CHARS,
        )
        self.resolution: discord.ui.Select[Any] = discord.ui.Select(
            options=[
                discord.SelectOption(label=r, value=r, default=r == options.resolution)
                for r in RESOLUTIONS
            ]
        )
        self.duration: discord.ui.Select[Any] = discord.ui.Select(
            options=[
                discord.SelectOption(
                    label=t("modal.duration.option", duration=t.number(seconds)),
                    value=str(seconds),
                    default=seconds == options.duration,
                )
                for seconds in range(MIN_DURATION, MAX_DURATION + 1)
            ]
        )
        self.add_item(self.prompt)
        self.add_item(discord.ui.Label(text=t("modal.resolution"), component=self.resolution))
        self.add_item(discord.ui.Label(text=t("modal.duration"), component=self.duration))

    def chosen(self) -> JobOptions:
        resolution: Resolution = self.resolution.values[0] if self.resolution.values else None  # type: ignore[assignment]
        duration = int(self.duration.values[0]) if self.duration.values else None
        return self.base.model_copy(
            update={
                "resolution": resolution or self.base.resolution,
                "duration": duration or self.base.duration,
            }
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            prompt = clean_prompt(self.prompt.value)
        except PromptRejected as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        await self.on_done(interaction, prompt, self.chosen())
