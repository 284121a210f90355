"""What the language tests share: French spaces, a catalog's texts, a click in a locale."""

from __future__ import annotations

from bot import i18n
from tests.cogs.test_history import custom_id
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage

NBSP, NNBSP = "\u00a0", "\u202f"


def texts(locale: str) -> dict[str, list[str]]:
    """Every key of a catalog with its texts (one per plural form)."""
    found = {}
    for message in i18n.read_catalog(locale):
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found[key] = list(strings)
    return found


async def click(
    fake: FakeDiscord, message: FakeMessage, label: str, locale: str, **kwargs: object
) -> FakeInteraction:
    ix = await fake.click(message, custom_id(message, label), locale=locale, **kwargs)  # type: ignore[arg-type]
    await fake.wait_for(lambda: ix.response_type is not None)
    return ix
