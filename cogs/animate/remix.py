"""Modals that ask for a prompt and options: Remix (prefilled) and the "Animate" menu.

A modal lives in this process only (Discord sends its answer within minutes), so,
unlike the buttons that open it, it need not survive a restart. Its selects are the
model's own options (as many as a modal holds); it parses what was typed and picked
and hands a prompt and the picks to `on_done`; the starter does the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.domain import Scalar
from bot.i18n import Messages
from bot.models.model import VideoModel
from bot.models.options import ROLES, OptionKind, OptionSpec
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected, clean_prompt
from cogs.animate.rendering import PROMPT_IN_DELIVERY
from cogs.common.translator import user_messages
from cogs.common.words import safe_text, value_label

TITLE_LIMIT = 45
SELECTS = 4  # a modal holds five rows: the prompt, then this many options
SELECT_VALUES = 25  # Discord's most options in one select
# Catalog key: a form sent again (a double click, a script) starts nothing more.
ALREADY_SENT = "modal.already_sent"
# The picks, by option name; the starter checks them against the model.
OnDone = Callable[[discord.Interaction[Any], str, dict[str, object]], Awaitable[None]]


def modal_options(model: VideoModel) -> list[OptionSpec]:
    """The options a modal offers: the common roles first, each a short list of values."""
    pickable = [
        o
        for o in model.options
        if o.kind is OptionKind.SWITCH or 0 < len(o.values()) <= SELECT_VALUES
    ]
    pickable.sort(key=lambda o: ROLES.index(o.role) if o.role in ROLES else len(ROLES))
    return pickable[:SELECTS]


class PromptModal(discord.ui.Modal):
    """A prompt (prefilled or not) and the model's options as selects."""

    def __init__(
        self,
        *,
        title: str,
        t: Messages,
        model: VideoModel,
        options: Mapping[str, Scalar],
        prompt: str,
        on_done: OnDone,
    ) -> None:
        super().__init__(title=title[:TITLE_LIMIT], timeout=600)
        self.on_done = on_done
        # discord.py forgets a form only once its answer is handled, and starting a job
        # takes seconds: a second send meanwhile would start a second job.
        self.sent = False
        self.t = t
        # The model's own length bounds: Discord counts and stops the typing there.
        longest = min(MAX_PROMPT_CHARS, model.prompt_max or MAX_PROMPT_CHARS)
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=t("modal.prompt"),
            style=discord.TextStyle.paragraph,
            default=prompt[:longest] or None,
            placeholder=t("modal.prompt.placeholder"),
            min_length=model.prompt_min or None,
            max_length=longest,
        )
        self.add_item(self.prompt)
        self.selects: dict[str, tuple[OptionSpec, discord.ui.Select[Any]]] = {}
        for option in modal_options(model):
            current = options.get(option.field, option.default)
            select: discord.ui.Select[Any] = discord.ui.Select(
                options=[
                    discord.SelectOption(
                        label=value_label(option.role, value, t)[:100],
                        value=str(value),
                        default=value == current and type(value) is type(current),
                    )
                    for value in option.values()
                ]
            )
            self.selects[option.name] = (option, select)
            label = option_label(option, t)
            self.add_item(discord.ui.Label(text=label[:45], component=select))

    def picked(self) -> dict[str, object]:
        """What was picked, by option name (the select's text, typed by the model later)."""
        return {
            name: select.values[0] for name, (_, select) in self.selects.items() if select.values
        }

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        if self.sent:
            await interaction.response.send_message(
                user_messages(interaction)(ALREADY_SENT), ephemeral=True
            )
            return
        self.sent = True
        try:
            prompt = clean_prompt(self.prompt.value)
        except PromptRejected as exc:
            # Private: in the reader's own language.
            await interaction.response.send_message(
                exc.text(user_messages(interaction)), ephemeral=True
            )
            return
        await self.on_done(interaction, prompt, self.picked())


def option_label(option: OptionSpec, t: Messages) -> str:
    """An option's name in a form: the catalogs' words for a role, else the schema's title."""
    if option.role is not None:
        return t(f"modal.{option.role}")
    return option.title or option.field


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
