"""Discord ids as people type them: ASCII digits of a snowflake's size, nothing else.

`str.isdigit()` also says yes to "²" or "١٢٣", which `int()` then refuses or reads,
so ids typed in settings and commands go through here.
"""

from __future__ import annotations

# A snowflake is an unsigned 64-bit integer: at most 20 digits.
MAX_SNOWFLAKE = 2**64 - 1
MAX_DIGITS = len(str(MAX_SNOWFLAKE))
# What the database holds (signed 64-bit); Discord's ids stay below it until 2084.
MAX_STORED_ID = 2**63 - 1


def parse_snowflake(text: str) -> int | None:
    """The id `text` spells (spaces around it allowed); None if it is not one."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        return None
    value = int(text)
    return value if value <= MAX_SNOWFLAKE else None


def parse_ids(text: str) -> list[int] | None:
    """A comma-separated list of ids (empty parts skipped); None if any is not an id."""
    ids = [parse_snowflake(part) for part in text.split(",") if part.strip()]
    return None if None in ids else [i for i in ids if i is not None]
