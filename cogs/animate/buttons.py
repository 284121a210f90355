"""Buttons that keep working after a restart: what a press means lives in its custom id.

One `DynamicItem` type, `JobButton`, for every button on the bot's messages. `ACTIONS`
says how each kind looks; the animate cog binds each kind to its handler (`bind`).
Custom ids are built and parsed here only (`Press`), and keep the shape already on
Discord's messages: `animate:<action>:<job id>[:<arg>]`.

A new button under a video: a row in `ACTIONS`, a line in `result_view`, its handler
in the cog's table (`Animate.handlers`).
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.domain import Job
from bot.i18n import Messages
from bot.models import resolutions
from bot.models.model import VideoModel
from bot.models.registry import Models
from cogs.animate.rendering import CANCELLABLE, public_messages
from cogs.common.presses import answered_elsewhere

log = logging.getLogger(__name__)

TEMPLATE = r"animate:(?P<action>[a-z]+):(?P<job_id>\d+)(?::(?P<arg>[\w.]+))?"
PATTERN = re.compile(TEMPLATE)

CANCEL = "cancel"
AGAIN = "again"
REMIX = "remix"
HIGHER = "higher"
EXTEND = "extend"
JOIN = "join"
SHARE = "share"
SPOILER = "spoiler"
UNSPOILER = "unspoiler"


@dataclass(frozen=True)
class Press:
    """A button's meaning: an action on a job (and its argument): its custom id, parsed."""

    action: str
    job_id: int
    arg: str | None = None

    @property
    def custom_id(self) -> str:
        tail = f":{self.arg}" if self.arg is not None else ""
        return f"animate:{self.action}:{self.job_id}{tail}"

    @classmethod
    def parse(cls, custom_id: str) -> Press | None:
        match = PATTERN.fullmatch(custom_id)
        return None if match is None else cls.of(match)

    @classmethod
    def of(cls, match: re.Match[str]) -> Press:
        return cls(match["action"], int(match["job_id"]), match["arg"])


@dataclass(frozen=True)
class ButtonAction:
    """How one kind of button looks, and which argument it takes."""

    label: str  # catalog key
    style: discord.ButtonStyle
    emoji: str | None = None
    # The catalog placeholder the press's argument fills, and the values it may take.
    arg_name: str | None = None
    arg_pattern: re.Pattern[str] | None = None
    disabled_label: str | None = None  # catalog key once it cannot be pressed again

    def accepts(self, arg: str | None) -> bool:
        if self.arg_pattern is None:
            return arg is None
        return arg is not None and self.arg_pattern.fullmatch(arg) is not None


ACTIONS: dict[str, ButtonAction] = {
    # On the status message while the job can be cancelled.
    CANCEL: ButtonAction("button.cancel", discord.ButtonStyle.danger),
    # Under a delivered video: the same job again, for whoever presses.
    AGAIN: ButtonAction("button.again", discord.ButtonStyle.primary, "🔁"),
    # A form prefilled with the prompt and options, then a new job on the same image.
    REMIX: ButtonAction("button.remix", discord.ButtonStyle.secondary, "🎛️"),
    HIGHER: ButtonAction(
        "button.higher",
        discord.ButtonStyle.secondary,
        "⬆️",
        arg_name="resolution",
        arg_pattern=resolutions.RESOLUTION,
    ),
    # A new job from the video's last frame; once per video.
    EXTEND: ButtonAction(
        "button.extend", discord.ButtonStyle.secondary, "⏩", disabled_label="button.extended"
    ),
    # On an extension's video: that clip and the one it continues, as one video.
    JOIN: ButtonAction("button.join", discord.ButtonStyle.secondary, "🔗"),
    # Under a private video: the same file, posted publicly once by its author.
    SHARE: ButtonAction(
        "button.share", discord.ButtonStyle.primary, "📣", disabled_label="button.shared"
    ),
    # Under a public video: hidden as a spoiler (its author or a moderator), and back.
    SPOILER: ButtonAction("button.spoiler", discord.ButtonStyle.secondary, "🙈"),
    UNSPOILER: ButtonAction("button.unspoiler", discord.ButtonStyle.secondary, "👀"),
}

Handler = Callable[[discord.Interaction[Any], Press], Awaitable[None]]
# Each client's handlers, bound by its animate cog (a test process runs several bots).
_bound: weakref.WeakKeyDictionary[discord.Client, Mapping[str, Handler]] = (
    weakref.WeakKeyDictionary()
)


def bind(client: discord.Client, handlers: Mapping[str, Handler]) -> None:
    """Presses of `client`'s buttons go to `handlers`, by action; one for every action."""
    if handlers.keys() != ACTIONS.keys():
        raise ValueError(f"button handlers {sorted(handlers)} are not for {sorted(ACTIONS)}")
    _bound[client] = handlers
    client.add_dynamic_items(JobButton)


def unbind(client: discord.Client) -> None:
    client.remove_dynamic_items(JobButton)
    _bound.pop(client, None)


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """Every button on the bot's messages; a press goes to its action's handler."""

    def __init__(self, press: Press, button: discord.ui.Button[Any]) -> None:
        button.custom_id = press.custom_id
        super().__init__(button)
        self.press = press

    @classmethod
    def shown(cls, press: Press, t: Messages, *, disabled: bool = False) -> JobButton:
        """The button as the bot posts it, its label in `t`'s language."""
        action = ACTIONS[press.action]
        key = action.disabled_label if disabled and action.disabled_label else action.label
        values = {action.arg_name: press.arg} if action.arg_name else {}
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=t(key, **values), style=action.style, emoji=action.emoji, disabled=disabled
        )
        return cls(press, button)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /
    ) -> JobButton:
        # Only this press's handler uses it: the message keeps the button it shows.
        return cls(Press.of(match), discord.ui.Button())

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        action = ACTIONS.get(self.press.action)
        # A button this version does not know (or an argument it never made): ignored.
        return action is not None and action.accepts(self.press.arg)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = _bound.get(interaction.client, {}).get(self.press.action)
        if handler is None:
            log.warning("No handler for button %s", self.press.custom_id)
            return
        try:
            await handler(interaction, self.press)
        except discord.HTTPException as exc:
            if not answered_elsewhere(exc):
                raise
            log.info("Press of %s was answered by another process on this shard", self.press)


def cancel_view(job: Job) -> discord.ui.View | None:
    """The Cancel button, only while cancelling can still work."""
    if job.id is None or job.status not in CANCELLABLE:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton.shown(Press(CANCEL, job.id), public_messages(job)))
    return view


def higher_resolutions(
    job: Job, models: Models, offered: Sequence[VideoModel] | None = None
) -> list[str]:
    """The resolutions above the job's that a model offered now makes (its own option,
    or a sibling model's id) among `offered` (the server's; default: the operator's
    available ones): Higher buttons exist only where there is one."""
    model = models.get(job.model_id)
    if model is None:
        return []
    among = models.available() if offered is None else offered
    return [r.resolution for r in resolutions.higher(model, job.options, among)]


def result_view(
    job: Job,
    t: Messages | None = None,
    *,
    higher: Sequence[str] = (),
    extendable: bool = True,
    extend_disabled: bool = False,
    joinable: bool = False,
    spoiler: bool | None = None,
) -> discord.ui.View | None:
    """The buttons under a delivered video.

    Extend needs the video on the message and is disabled once pressed (a job is
    extended once); Join only on an extension whose two clips fit the upload limit
    together; on an uploaded public video, Spoiler (`spoiler` False) or, once it is
    one, Unspoiler (True).
    """
    if job.id is None:
        return None
    t = t or public_messages(job)
    presses = [Press(AGAIN, job.id), Press(REMIX, job.id)]
    presses += [Press(HIGHER, job.id, resolution) for resolution in higher]
    view = discord.ui.View(timeout=None)
    for press in presses:
        view.add_item(JobButton.shown(press, t))
    if extendable:
        view.add_item(JobButton.shown(Press(EXTEND, job.id), t, disabled=extend_disabled))
    if joinable:
        view.add_item(JobButton.shown(Press(JOIN, job.id), t))
    if spoiler is not None:
        view.add_item(JobButton.shown(Press(UNSPOILER if spoiler else SPOILER, job.id), t))
    return view


def spoiler_on(presses: set[Press]) -> bool | None:
    """The video's spoiler as its buttons show it: None when it has no such button."""
    if any(p.action == UNSPOILER for p in presses):
        return True
    return False if any(p.action == SPOILER for p in presses) else None


def single_view(press: Press, t: Messages, *, disabled: bool = False) -> discord.ui.View:
    """One button: Post to channel under a private video, Spoiler under a shared one."""
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton.shown(press, t, disabled=disabled))
    return view


def same_buttons(
    message: discord.Message, t: Messages, *, swap: tuple[Press, Press] | None = None
) -> discord.ui.View:
    """The bot's buttons on `message` as they are (in order, disabled or not), with
    `swap`'s first press replaced by its second (Spoiler and back)."""
    view = discord.ui.View(timeout=None)
    for row in message.components:
        if not isinstance(row, discord.ActionRow):
            continue
        for child in row.children:
            if not isinstance(child, discord.Button) or not child.custom_id:
                continue
            press = Press.parse(child.custom_id)
            if press is None or press.action not in ACTIONS:
                continue
            if swap is not None and press == swap[0]:
                press = swap[1]
            view.add_item(JobButton.shown(press, t, disabled=child.disabled))
    return view


def higher_on(presses: set[Press]) -> list[str]:
    """The Higher buttons among `presses`, lowest resolution first (as the view shows them)."""
    shown = [p.arg for p in presses if p.action == HIGHER and p.arg]
    return sorted(shown, key=lambda r: resolutions.lines(r) or 0)


def presses_on(message: discord.Message) -> set[Press]:
    """The bot's buttons on `message`, parsed."""
    found = (
        Press.parse(child.custom_id)
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button) and child.custom_id
    )
    return {press for press in found if press is not None}
