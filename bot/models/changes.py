"""What changed between two readings of a model's schema, in words for the log."""

from __future__ import annotations

from bot.models.model import VideoModel
from bot.models.options import OptionSpec


def describe_changes(old: VideoModel, new: VideoModel) -> list[str]:
    changes: list[str] = []
    if (old.prompt_field, old.image_field) != (new.prompt_field, new.image_field):
        changes.append(
            f"prompt and image now in `{new.prompt_field}` and `{new.image_field}` "
            f"(were `{old.prompt_field}` and `{old.image_field}`)"
        )
    if old.bounds != new.bounds:
        changes.append(f"image bounds now {new.bounds} (were {old.bounds})")
    before = {o.field: o for o in old.options}
    after = {o.field: o for o in new.options}
    for name in after.keys() - before.keys():
        changes.append(f"new option `{name}`: {_offer(after[name])}")
    for name in before.keys() - after.keys():
        changes.append(f"option `{name}` is gone")
    for name in before.keys() & after.keys():
        if before[name] != after[name]:
            changes.append(
                f"option `{name}` now {_offer(after[name])} (was {_offer(before[name])})"
            )
    if (old.base_price_usd, old.price_unit) != (new.base_price_usd, new.price_unit):
        changes.append(
            f"price now {new.base_price_usd} USD per {new.price_unit} "
            f"(was {old.base_price_usd} per {old.price_unit})"
        )
    return sorted(changes) or ["the schema's text changed, not what the bot uses"]


def _offer(option: OptionSpec) -> str:
    if option.choices:
        values = ", ".join(map(str, option.choices))
    elif option.minimum is not None:
        values = f"{option.minimum:g}..{option.maximum:g}"
    else:
        values = "on or off"
    return f"{values}; default {option.default}"
