"""Cleaning what users type before it is stored, sent or shown."""

from __future__ import annotations

import re
import unicodedata

# Discord allows 6,000; the model works best under 500 and nothing needs more
# than 2,000 (it still fits, escaped, in an embed description of 4,096).
MAX_PROMPT_CHARS = 2000
RECOMMENDED_PROMPT_CHARS = 500

# Bidi overrides and isolates can make a message read backwards; zero-width
# characters hide text. Neither has a place in a prompt.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class PromptRejected(Exception):
    """The prompt is unusable; `str()` is the message for the user."""


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
        raise PromptRejected(
            "Your prompt is empty. Describe the motion you want, e.g. "
            '"the waves roll in and the camera pans left".'
        )
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptRejected(
            f"Your prompt has {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,} "
            f"(under {RECOMMENDED_PROMPT_CHARS} works best)."
        )
    return text


def is_long(prompt: str) -> bool:
    return len(prompt) > RECOMMENDED_PROMPT_CHARS
