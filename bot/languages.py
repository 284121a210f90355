"""Which language a job's public messages speak (status, video, buttons). Discord-free.

Everyone in the channel reads them, so no single reader's client decides. The
server's admins may choose (`/admin language`); otherwise the server's own
language, but only where Discord lets a server have one: it sends `en-US` as the
preferred locale of every server that is not a Community server, so a small French
server would read English. There, the member who started the job is the best guess.
"""

from __future__ import annotations

from collections.abc import Collection

from bot import i18n

AUTO = "auto"
# The guild feature of servers that can set their language in Discord.
COMMUNITY = "COMMUNITY"


def server_language_choices() -> tuple[str, ...]:
    """What `/admin language` offers: automatic, then each language with a catalog."""
    return (AUTO, *i18n.available_locales())


def stored_server_language(choice: str) -> str | None:
    """The setting kept for a choice: None for automatic; ValueError for no catalog."""
    if choice == AUTO:
        return None
    if choice not in i18n.available_locales():
        raise ValueError(f"no catalog for language {choice!r}")
    return choice


def public_locale(
    server_language: str | None,
    *,
    guild_features: Collection[str],
    guild_locale: str | None,
    member_locale: str | None,
) -> str:
    """The locale stored with a new job, that its public messages speak.

    `server_language` is the admins' choice (None: automatic); `guild_features`,
    `guild_locale` the server's as Discord gives them (empty and None outside a server);
    `member_locale` the client language of who started the job.
    """
    if server_language is not None and server_language != AUTO:
        return server_language
    if guild_locale and COMMUNITY in guild_features:
        return guild_locale
    return member_locale or i18n.DEFAULT_LOCALE
