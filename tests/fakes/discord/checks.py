"""What Discord (and its client) refuses: command texts and locales, option values,
message and embed limits, modals."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord.wire import DiscordError

# Discord's locales: a localization keyed by anything else is refused (50035).
DISCORD_LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)
# Discord's `^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`: letters of any script
# (accents too), digits, - and _.
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _check_command_texts(command: dict[str, Any]) -> None:
    """What Discord refuses in a command, an option or a choice, localizations included."""

    def invalid(what: str) -> DiscordError:
        return DiscordError(400, 50035, f"Invalid Form Body: {what}")

    def check(item: dict[str, Any], name_limit: int, lowercase: bool) -> None:
        names = [item["name"], *(item.get("name_localizations") or {}).values()]
        descriptions = [item.get("description", "")]
        descriptions += (item.get("description_localizations") or {}).values()
        for locale in {
            **(item.get("name_localizations") or {}),
            **(item.get("description_localizations") or {}),
        }:
            if locale not in DISCORD_LOCALES:
                raise invalid(f"unknown locale {locale!r}")
        for name in names:
            if not 1 <= len(name) <= name_limit:
                raise invalid(f"name {name!r} length")
            if lowercase and (not _COMMAND_NAME.match(name) or name != name.lower()):
                raise invalid(f"name {name!r}")
        for description in descriptions:
            if len(description) > 100:
                raise invalid(f"description {description!r} longer than 100")
        options = item.get("options", [])
        for option in options:
            check(option, 32, True)
        # Options are told apart by name in every language the picker shows.
        for locale in DISCORD_LOCALES:
            shown = [(o.get("name_localizations") or {}).get(locale, o["name"]) for o in options]
            if len(shown) != len(set(shown)):
                raise invalid(f"two options named alike in {locale!r}: {shown}")
        for choice in item.get("choices", []):
            check(choice, 100, False)

    # Context menu commands (types 2 and 3) have no description; their names are
    # what the menu shows: capitals and spaces allowed.
    check(command, 32, command.get("type", 1) == 1)


def _check_option(option: dict[str, Any], value: Any) -> None:
    """What the Discord client enforces before sending: choices, ranges, lengths."""
    choices = [c["value"] for c in option.get("choices", [])]
    if choices and value not in choices:
        raise ValueError(f"{value!r} is not a choice of {option['name']}")
    if "min_value" in option and value < option["min_value"]:
        raise ValueError(f"{option['name']} below its minimum")
    if "max_value" in option and value > option["max_value"]:
        raise ValueError(f"{option['name']} above its maximum")
    if "max_length" in option and len(value) > option["max_length"]:
        raise ValueError(f"{option['name']} longer than {option['max_length']}")


def _check_message_limits(content: str, embeds: list[dict[str, Any]]) -> None:
    problems = []
    if len(content) > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(title) + len(description) + len(footer) + len(author)
        if len(title) > 256:
            problems.append("embed title over 256")
        if len(description) > 4096:
            problems.append("embed description over 4096")
        if len(fields) > 25:
            problems.append("embed has over 25 fields")
        if len(footer) > 2048:
            problems.append("embed footer over 2048")
        for item in fields:
            total += len(item.get("name", "")) + len(item.get("value", ""))
            if len(item.get("name", "")) > 256 or len(item.get("value", "")) > 1024:
                problems.append("embed field over its limit")
            if not item.get("name") or not item.get("value"):
                problems.append("embed field empty")
    if total > 6000:
        problems.append("embeds over 6000 characters in total")
    if problems:
        raise DiscordError(400, 50035, "Invalid Form Body: " + "; ".join(problems))


def _check_modal(data: dict[str, Any]) -> None:
    """What Discord refuses in a modal: a long title, too many or unknown components."""
    if not 1 <= len(data.get("title", "")) <= 45:
        raise DiscordError(400, 50035, "Invalid Form Body: modal title")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        raise DiscordError(400, 50035, "Invalid Form Body: modal components")
    for row in rows:
        if row["type"] not in (1, 18):
            raise DiscordError(400, 50035, "Invalid Form Body: modal component type")
        if row["type"] == 18 and not 1 <= len(row.get("label", "")) <= 45:
            raise DiscordError(400, 50035, "Invalid Form Body: label")
        if row["type"] == 18 and row["component"]["type"] == 3:
            _check_select(row["component"])


def _check_select(select: dict[str, Any]) -> None:
    """A select's options: 1 to 25, labels and values of 1 to 100, values all different."""
    options = select.get("options") or []
    values = [option.get("value", "") for option in options]
    labels = [option.get("label", "") for option in options]
    if not 1 <= len(options) <= 25 or len(set(values)) != len(values):
        raise DiscordError(400, 50035, "Invalid Form Body: select options")
    if not all(1 <= len(text) <= 100 for text in values + labels):
        raise DiscordError(400, 50035, "Invalid Form Body: select option")


def _modal_answer(child: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    custom_id = child["custom_id"]
    if child["type"] == 4:  # text input
        value = values.get(custom_id, child.get("value", ""))
        if child.get("required", True) and not value:
            raise ValueError(f"Discord would not send the modal without {custom_id!r}")
        if len(value) > child.get("max_length", 4000):
            raise ValueError(f"{custom_id!r} is longer than Discord allows")
        return {"type": 4, "custom_id": custom_id, "value": value}
    picked = values.get(custom_id)
    if picked is None:
        picked = [o["value"] for o in child.get("options", []) if o.get("default")]
    allowed = {o["value"] for o in child.get("options", [])}
    if not set(picked) <= allowed:
        raise ValueError(f"{picked!r} is not among the options of {custom_id!r}")
    return {"type": child["type"], "custom_id": custom_id, "values": list(picked)}
