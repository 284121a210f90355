"""/animate's model-dependent options, built from the operator's models' schemas.

Discord commands have fixed options, synced once; models differ. So /animate offers the
union of what the configured models take (a role such as `ratio` once, whatever each
model calls it), suggests only what the chosen model takes (autocomplete reads the
`model` option already typed), and refuses privately, with what the model takes, a value
it does not (nothing is ever dropped or sent outside its schema).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import discord
from discord import app_commands

from bot import i18n
from bot.i18n import Messages
from bot.models.model import VideoModel
from bot.models.options import ROLES, OptionKind, OptionRefused, OptionSpec
from bot.models.schema import Scalar
from cogs.common.translator import command_text
from cogs.common.words import safe_text, value_label

CHOICES_SHOWN = 25  # Discord's most suggestions
DESCRIPTION_LIMIT = 100
# Of a value the model refuses, what its refusal repeats: it may be 6,000 typed characters.
REFUSED_VALUE_SHOWN = 40
# Of what an option takes, what a refusal lists: a model may list 10,000 values.
TAKES_SHOWN = 600
FIXED = ("image", "prompt", "model", "private")  # options every model has
_SLUG = re.compile(r"[^a-z0-9_]+")
_DIGITS = re.compile(r"[0-9]*")
_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


@dataclass(frozen=True)
class Slot:
    """One model-dependent option of /animate, shared by the models that have it."""

    name: str  # as typed in Discord, and the callback's keyword
    type: type
    role: str | None
    description: str | app_commands.locale_str


def slot_name(option: OptionSpec) -> str:
    """The Discord name of an option: its role, else its field as a valid name, never one
    a picker shows for another option in any language (Discord refuses the commands)."""
    if option.role is not None:
        return option.role
    name = _SLUG.sub("_", option.field.lower()).strip("_") or "option"
    if name[0].isdigit() or name in taken_names():
        name = "opt_" + name
    return name[:32]


@cache
def taken_names() -> frozenset[str]:
    """The names of /animate's own and common options in every catalog (ratio is
    `format` in French, audio `son`)."""
    names = {*FIXED, *ROLES}
    for locale in i18n.available_locales():
        t = i18n.for_locale(locale)
        names.update(t(f"option_name.{name}") for name in (*FIXED, *ROLES))
    return frozenset(names)


def option_slots(models: Sequence[VideoModel]) -> list[Slot]:
    """Every option some model takes, the common roles first, then in schema order."""
    found: dict[str, list[OptionSpec]] = {}
    for model in models:
        for option in model.options:
            found.setdefault(slot_name(option), []).append(option)
    ordered = sorted(found, key=lambda n: ROLES.index(n) if n in ROLES else len(ROLES))
    slots = []
    for name in ordered[: 25 - len(FIXED)]:  # Discord's most options per command
        options = found[name]
        types = {_TYPES[o.type] for o in options}
        kind: type = types.pop() if len(types) == 1 else str
        slots.append(Slot(name, kind, options[0].role, _description(options[0])))
    return slots


def _description(option: OptionSpec) -> str | app_commands.locale_str:
    if option.role is not None:
        return command_text(f"animate.option.{option.role}")
    text = option.description or option.title or option.field
    return text.replace("\n", " ")[:DESCRIPTION_LIMIT]


def suggestions(option: OptionSpec, typed: str, t: Messages) -> list[app_commands.Choice[Any]]:
    """What the model takes, filtered by what is typed so far (a range: by its digits)."""
    typed = typed.strip().lower()
    values = option.values()
    if not values and option.kind is OptionKind.RANGE:
        values = _range_values(option, typed)
    choices = []
    for value in values:
        label = value_label(option.role, value, t)
        if typed and not (str(value).lower().startswith(typed) or label.lower().startswith(typed)):
            continue
        payload = (
            value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        )
        choices.append(app_commands.Choice(name=label[:100], value=payload))
        if len(choices) == CHOICES_SHOWN:
            break
    return choices


def _range_values(option: OptionSpec, typed: str) -> tuple[Scalar, ...]:
    """A long integer range: the numbers that start with what is typed, smallest first."""
    assert option.minimum is not None and option.maximum is not None
    if option.type != "integer":
        return (option.minimum, option.maximum)
    low, high = math.ceil(option.minimum), math.floor(option.maximum)
    if not typed:
        return tuple(range(low, min(high, low + CHOICES_SHOWN - 1) + 1))
    sign, digits = (-1, typed[1:]) if typed.startswith("-") else (1, typed)
    if not _DIGITS.fullmatch(digits) or (digits.startswith("0") and digits != "0"):
        return ()
    if digits == "0":
        return (0,) if sign == 1 and low <= 0 <= high else ()
    if len(digits) > len(str(max(abs(low), abs(high)))):
        return ()  # longer than any number of the range (and int() refuses 4,300 digits)
    # Counted by arithmetic, not by walking the range (a seed's runs to 2^31): the numbers
    # whose digits start so, one more digit at a time, within the range's bounds.
    largest = high if sign == 1 else -low
    found: list[int] = []
    prefix, scale = int(digits or "0"), 1
    while len(found) < CHOICES_SHOWN:
        if digits:
            first, last = prefix * scale, (prefix + 1) * scale - 1
        else:  # "-" alone: every negative number, shortest first
            first, last = scale, scale * 10 - 1
        if first > largest:
            break
        if sign == 1:
            first, last = max(first, low), min(last, high)
        else:
            first, last = max(first, -high), min(last, -low)
        found.extend(range(first, min(last, first + CHOICES_SHOWN - len(found) - 1) + 1))
        scale *= 10
    return tuple(sorted(sign * n for n in found))


def takes_text(option: OptionSpec, t: Messages) -> str:
    """What an option takes, for a refusal: its values, or its range."""
    values = option.values()
    if values:
        labels: list[str] = []
        for value in values:
            label = value_label(option.role, value, t)
            if labels and len(", ".join([*labels, label])) > TAKES_SHOWN:
                return ", ".join(labels) + ", …"
            labels.append(safe_text(label, TAKES_SHOWN))
        return ", ".join(labels)
    key = "option.range" if option.type == "integer" else "option.range.decimal"
    return t(key, low=t.number(option.minimum or 0), high=t.number(option.maximum or 0))


def refusal_text(exc: OptionRefused, model: VideoModel, t: Messages) -> str:
    """Why the chosen model will not take it, and what it does instead. Nothing was sent."""
    option = shown_name(exc.name, t)
    if exc.option is not None:
        return t("option.not_taken", model=model.name, option=option,
                 value=safe_text(str(exc.value), REFUSED_VALUE_SHOWN),
                 values=takes_text(exc.option, t))  # fmt: skip
    # What the model does instead, for a common role the catalogs word (`option.missing.<role>`):
    # a value its id fixes ("always 720p"), or what it takes instead ("from your image").
    if exc.role is not None:
        fixed = model.fixed_value(exc.role)
        keys = [f"option.missing.{exc.role}"]
        if fixed is not None:
            keys.insert(0, f"option.missing.{exc.role}.fixed")
        for key in keys:
            if i18n.english().has(key):
                return t(key, model=model.name, option=option, fixed=fixed or "")
    return t("option.missing", model=model.name, option=option)


def shown_name(name: str, t: Messages) -> str:
    """An option's name as the reader's picker shows it (`durée` in French), from the
    catalogs' `option_name.*` the commands are synced with; a model's own, as it is."""
    key = f"option_name.{name}"
    return t(key) if i18n.english().has(key) else name


Handler = Callable[[discord.Interaction, dict[str, Any]], Awaitable[None]]
Suggest = Callable[[discord.Interaction, str, str], Awaitable[list[app_commands.Choice[Any]]]]
Completer = Callable[
    [discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[Any]]]
]


def animate_command(
    slots: Sequence[Slot],
    *,
    prompt_chars: int,
    with_model: bool,
    handler: Handler,
    suggest: Suggest,
    **command_options: Any,
) -> app_commands.Command[Any, ..., None]:
    """/animate with `slots` as its options; `handler` gets every value by name.

    Its parameters are given as a signature (discord.py reads options from it), so the
    options follow the configured models, not a list written here.
    """

    async def animate(interaction: discord.Interaction, **values: Any) -> None:
        await handler(interaction, values)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        ),
        inspect.Parameter("image", keyword, annotation=discord.Attachment),
        inspect.Parameter("prompt", keyword, annotation=app_commands.Range[str, 1, prompt_chars]),
    ]
    described: dict[str, str | app_commands.locale_str] = {
        "image": command_text("animate.option.image"),
        "prompt": command_text("animate.option.prompt"),
    }
    completed: list[str] = []
    if with_model:
        parameters.append(inspect.Parameter("model", keyword, default=None, annotation=str | None))
        described["model"] = command_text("animate.option.model")
        completed.append("model")
    for slot in slots:
        parameters.append(
            inspect.Parameter(slot.name, keyword, default=None, annotation=slot.type | None)
        )
        described[slot.name] = slot.description
        if slot.type is not bool:
            completed.append(slot.name)
    # Who sees the status and the video (the author alone, or the channel).
    parameters.append(inspect.Parameter("private", keyword, default=None, annotation=bool | None))
    described["private"] = command_text("animate.option.private")
    animate.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    app_commands.describe(**described)(animate)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="animate",
        description=command_text("animate.command.description"),
        callback=animate,
        **command_options,
    )
    for name in completed:
        command.autocomplete(name)(_completer(name, suggest))
    return command


def _completer(name: str, suggest: Suggest) -> Completer:
    async def complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[Any]]:
        return await suggest(interaction, name, current)

    return complete
