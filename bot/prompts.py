"""Cleaning what users type before it is stored, sent or shown."""

from __future__ import annotations

import re
import unicodedata

from bot import i18n
from bot.i18n import Messages

# Discord allows 6,000; the model works best under 500 and nothing needs more
# than 2,000 (it still fits, escaped, in an embed description of 4,096).
MAX_PROMPT_CHARS = 2000
RECOMMENDED_PROMPT_CHARS = 500

# Bidi overrides and isolates can make a message read backwards; zero-width
# characters hide text. Neither has a place in a prompt.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class PromptRejected(Exception):
    """The prompt is unusable: a catalog `key` and its values, rendered per reader.

    `str(exc)` is the English text, for logs.
    """

    def __init__(self, key: str, **values: int) -> None:
        self.key = key
        self.values = values
        super().__init__(self.text(i18n.english()))

    def text(self, t: Messages) -> str:
        return t(self.key, **{name: t.number(value) for name, value in self.values.items()})


def clean_prompt(raw: str) -> str:
    """Drop control and invisible characters, collapse blank runs, trim.

    Newlines and tabs stay: they are how people write longer prompts.
    """
    text = _INVISIBLE.sub("", raw)
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise PromptRejected("prompt.rejected.empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptRejected(
            "prompt.rejected.too_long",
            count=len(text),
            limit=MAX_PROMPT_CHARS,
            recommended=RECOMMENDED_PROMPT_CHARS,
        )
    return text


def is_long(prompt: str) -> bool:
    return len(prompt) > RECOMMENDED_PROMPT_CHARS
