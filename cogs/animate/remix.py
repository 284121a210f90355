"""Modals that ask for a prompt and options: Remix (prefilled) and the "Animate" menu.

A modal lives in this process only (Discord sends its answer within minutes), so,
unlike the buttons that open it, it need not survive a restart. It parses what was
typed and picked and hands a prompt and options to `on_done`; the cog does the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.domain import MAX_DURATION, MIN_DURATION, RATIOS, RESOLUTIONS, JobOptions
from bot.i18n import Messages
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from cogs.animate.rendering import PROMPT_IN_DELIVERY
from cogs.common.translator import user_messages
from cogs.common.words import safe_text

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
        self.ratio: discord.ui.Select[Any] = discord.ui.Select(
            options=[
                discord.SelectOption(
                    label=t("job.options.ratio.adaptive") if r == "adaptive" else r,
                    value=r,
                    default=r == options.ratio,
                )
                for r in RATIOS
            ]
        )
        self.audio: discord.ui.Select[Any] = discord.ui.Select(
            options=[
                discord.SelectOption(
                    label=t("job.options.audio_on"), value="on", default=options.generate_audio
                ),
                discord.SelectOption(
                    label=t("job.options.audio_off"),
                    value="off",
                    default=not options.generate_audio,
                ),
            ]
        )
        # Five rows is a modal's most: the camera option keeps the source's choice.
        self.add_item(self.prompt)
        self.add_item(discord.ui.Label(text=t("modal.resolution"), component=self.resolution))
        self.add_item(discord.ui.Label(text=t("modal.duration"), component=self.duration))
        self.add_item(discord.ui.Label(text=t("modal.ratio"), component=self.ratio))
        self.add_item(discord.ui.Label(text=t("modal.audio"), component=self.audio))

    def chosen(self) -> JobOptions:
        """What was picked; the base options where nothing was."""
        base = self.base
        picked: dict[str, object] = {
            name: select.values[0]
            for name, select in (
                ("resolution", self.resolution),
                ("duration", self.duration),
                ("ratio", self.ratio),
                ("generate_audio", self.audio),
            )
            if select.values
        }
        if "generate_audio" in picked:
            picked["generate_audio"] = picked["generate_audio"] == "on"
        # Validated: a value that is not an option cannot reach a job.
        return JobOptions.model_validate({**base.model_dump(), **picked})

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            prompt = clean_prompt(self.prompt.value)
        except PromptRejected as exc:
            # Private: in the reader's own language.
            await interaction.response.send_message(
                exc.text(user_messages(interaction)), ephemeral=True
            )
            return
        await self.on_done(interaction, prompt, self.chosen())


def shown_prompt(prompt: str) -> str:
    """As much of `prompt` as its video's message shows (`delivered_message`): what
    anyone may read there, so what a form may hand to someone other than its author."""
    if shown_length(prompt) <= PROMPT_IN_DELIVERY:
        return prompt
    # The longest start that fits before the message's ellipsis; escapes take room,
    # so the message shows fewer characters of a marked-up prompt.
    low, high = 0, min(len(prompt), PROMPT_IN_DELIVERY - 1)
    while low < high:
        middle = (low + high + 1) // 2
        if shown_length(prompt[:middle]) <= PROMPT_IN_DELIVERY - 1:
            low = middle
        else:
            high = middle - 1
    return prompt[:low]


def shown_length(prompt: str) -> int:
    """How long `prompt` is once escaped for the video's message."""
    return len(safe_text(prompt.replace("\n", " "), len(prompt) * 3 + 1))
