"""The options a user may set on a model, derived from its schema's properties.

Three kinds a Discord user can pick safely: a choice among the schema's `enum`, a whole
(or decimal) number within its `minimum`..`maximum`, and a switch (a boolean). Anything
else the schema lists (free text, unbounded numbers, extra images) is never offered and
never sent, unless the model requires it, and then the model is not usable.

A few options are common to most video models under different names; they get a role,
which the catalogs name in every language and which says whether the option changes how
long a render takes (and so what it costs). The role words are the only names of model
options known outside the schemas, and only here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.models.schema import Property, Scalar

# Role -> the property names models use for it (lower case).
ROLE_FIELDS: dict[str, tuple[str, ...]] = {
    "resolution": ("resolution", "video_resolution", "output_resolution"),
    "ratio": ("ratio", "aspect_ratio"),
    "duration": ("duration", "video_duration", "duration_seconds"),
    "audio": ("generate_audio", "enable_audio", "audio", "with_audio"),
    "camera_fixed": ("camera_fixed", "fixed_camera"),
}
ROLES = tuple(ROLE_FIELDS)
# Roles whose value changes a render's time and cost: they make a job's kind.
RENDER_ROLES = frozenset({"resolution", "duration", "audio"})
MAX_RANGE_VALUES = 25  # a range offered as a list (a select, autocomplete) at most
# The largest number JSON readers (Discord's options among them) carry exactly: 2**53 - 1.
LARGEST_EXACT = 2**53 - 1
# The longest value a choice carries (a suggestion's or a select's, in Discord).
LONGEST_CHOICE = 100


class OptionKind(StrEnum):
    CHOICE = "choice"  # one of the schema's `enum`
    RANGE = "range"  # a number within `minimum`..`maximum`
    SWITCH = "switch"  # a boolean


class OptionRefused(ValueError):
    """A value the model does not take (`allowed` says what it does), or an option it
    lacks (`option` is None; `role` or `name` says which was asked for)."""

    def __init__(
        self,
        *,
        name: str,
        value: object,
        option: OptionSpec | None = None,
        role: str | None = None,
    ) -> None:
        super().__init__(f"option {name!r} refuses {value!r}")
        self.name = name
        self.value = value
        self.option = option
        self.role = role if option is None else option.role

    @property
    def missing(self) -> bool:
        return self.option is None


@dataclass(frozen=True)
class OptionSpec:
    """One option of a model: the schema property it fills and what it takes."""

    field: str  # the schema property, as sent
    kind: OptionKind
    type: str  # "string", "integer", "number" or "boolean": what is sent
    # Sent when the user chose nothing; None: not sent then (the model decides).
    default: Scalar | None
    role: str | None = None
    choices: tuple[Scalar, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    title: str = ""
    description: str = ""

    @property
    def name(self) -> str:
        """What the option is called where users type it: its role, else its field."""
        return self.role or self.field

    @property
    def changes_render(self) -> bool:
        return self.role in RENDER_ROLES

    def values(self) -> tuple[Scalar, ...]:
        """Every value, in the schema's order (a range: at most MAX_RANGE_VALUES of them)."""
        if self.kind is OptionKind.CHOICE:
            return self.choices
        if self.kind is OptionKind.SWITCH:
            return (True, False)
        assert self.minimum is not None and self.maximum is not None
        if self.type != "integer" or self.maximum - self.minimum >= MAX_RANGE_VALUES:
            return ()
        return tuple(range(int(self.minimum), int(self.maximum) + 1))

    def accept(self, value: object) -> Scalar:
        """`value` as the schema's type, if the option takes it; else OptionRefused."""
        typed = _as_type(value, self.type)
        if typed is not None and self._takes(typed):
            return typed
        raise OptionRefused(name=self.name, value=value, option=self)

    def _takes(self, value: Scalar) -> bool:
        if self.kind is OptionKind.CHOICE:
            return any(_same(value, choice) for choice in self.choices)
        if self.kind is OptionKind.SWITCH:
            return isinstance(value, bool)
        assert self.minimum is not None and self.maximum is not None
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and self.minimum <= value <= self.maximum
        )


def role_of(field: str) -> str | None:
    name = field.lower()
    return next((role for role, fields in ROLE_FIELDS.items() if name in fields), None)


def option_from(field: str, prop: Property, *, required: bool) -> OptionSpec | None:
    """The option a property offers, or None when it is nothing a user can pick safely.

    Its default is the schema's. Without a usable one, an optional option is sent only
    when chosen; a required one takes the first choice, the minimum, or off, since
    Discord cannot make an option required for one model only.
    """
    if not field.strip():
        return None  # a property with no name is nothing a user can be shown
    value_type = "number" if prop.type == "float" else prop.type
    if prop.minimum is not None and prop.maximum is not None:
        low = max(prop.minimum, -LARGEST_EXACT)
        high = min(prop.maximum, LARGEST_EXACT)
        if value_type == "integer":  # the whole numbers within: 0.5..3.5 takes 1 to 3
            low, high = math.ceil(low), math.floor(high)
        prop = prop.model_copy(update={"minimum": low, "maximum": high})
    kind, choices = _kind_of(prop)
    if kind is None:
        return None
    if kind is OptionKind.CHOICE and prop.type not in ("string", "integer", "number", "float"):
        value_type = _type_of(choices[0])
    default = _as_type(prop.default, value_type) if prop.default is not None else None
    option = OptionSpec(
        field=field,
        kind=kind,
        type=value_type,
        default=None,
        role=role_of(field),
        choices=_pickable(choices, value_type),
        minimum=prop.minimum,
        maximum=prop.maximum,
        title=prop.title.strip(),
        description=prop.description.strip(),
    )
    if kind is OptionKind.CHOICE and not option.choices:
        return None
    if default is not None and option._takes(default):
        return replace(option, default=default)
    return replace(option, default=_fallback(option)) if required else option


def _kind_of(prop: Property) -> tuple[OptionKind | None, tuple[Scalar, ...]]:
    if prop.enum:
        return OptionKind.CHOICE, prop.enum
    if prop.type == "boolean":
        return OptionKind.SWITCH, ()
    bounded = prop.minimum is not None and prop.maximum is not None
    if prop.type in ("integer", "number", "float") and bounded:
        assert prop.minimum is not None and prop.maximum is not None
        if prop.minimum <= prop.maximum:
            return OptionKind.RANGE, ()
    return None, ()


def _pickable(values: tuple[Scalar, ...], value_type: str) -> tuple[Scalar, ...]:
    """The values a user can be offered and pick, once each: as the schema's type, not
    empty, on one line, no longer than a suggestion carries, numbers carried exactly."""
    kept: list[Scalar] = []
    for value in values:
        typed = _as_type(value, value_type)
        if typed is None or any(_same(typed, seen) for seen in kept):
            continue
        if isinstance(typed, str) and not (
            0 < len(typed.strip()) <= LONGEST_CHOICE and typed.isprintable()
        ):
            continue  # a line break would put the schema's words in the bot's messages
        if not isinstance(typed, str | bool) and abs(typed) > LARGEST_EXACT:
            continue
        kept.append(typed)
    return tuple(kept)


def _fallback(option: OptionSpec) -> Scalar:
    if option.kind is OptionKind.CHOICE:
        return option.choices[0]
    if option.kind is OptionKind.SWITCH:
        return False
    assert option.minimum is not None
    return int(option.minimum) if option.type == "integer" else float(option.minimum)


def _type_of(value: Scalar) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _as_type(value: object, type_: str) -> Scalar | None:
    """`value` as the schema type, when it is one without loss ("8" -> 8, 8.0 -> 8)."""
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return None
    if type_ in ("integer", "number"):
        if isinstance(value, bool):
            return None
        number: float
        if isinstance(value, int | float):
            number = value
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return None
        else:
            return None
        if not math.isfinite(number):
            return None
        if type_ == "integer":
            return int(number) if number == int(number) else None
        return float(number)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _same(value: Scalar, choice: Scalar) -> bool:
    """Equal and of one type: True is not 1, and "8" is not 8."""
    return type(value) is type(choice) and value == choice
