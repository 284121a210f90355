"""The language of public messages: the admins' choice, a Community server's, the member's."""

from __future__ import annotations

import pytest

from bot.languages import (
    AUTO,
    public_locale,
    server_language_choices,
    stored_server_language,
)

COMMUNITY = ("COMMUNITY", "NEWS")


@pytest.mark.parametrize(
    ("setting", "features", "guild_locale", "member_locale", "expected"),
    [
        # Not a Community server: Discord says en-US whatever the server speaks.
        (None, (), "en-US", "fr", "fr"),
        (None, ("NEWS",), "en-US", "fr", "fr"),
        # A Community server chose its language: it wins over the member's client.
        (None, COMMUNITY, "en-US", "fr", "en-US"),
        (None, COMMUNITY, "fr", "en-GB", "fr"),
        # The admins' choice wins over both.
        ("en", COMMUNITY, "fr", "fr", "en"),
        ("fr", (), "en-US", "en-US", "fr"),
        (AUTO, COMMUNITY, "fr", "en-US", "fr"),
        # DMs and group DMs: no server at all.
        (None, (), None, "fr", "fr"),
        (None, (), None, None, "en"),
    ],
)
def test_public_locale(
    setting: str | None,
    features: tuple[str, ...],
    guild_locale: str | None,
    member_locale: str | None,
    expected: str,
) -> None:
    got = public_locale(
        setting, guild_features=features, guild_locale=guild_locale, member_locale=member_locale
    )
    assert got == expected


def test_admins_choose_automatic_or_a_shipped_language() -> None:
    assert server_language_choices() == ("auto", "en", "fr")
    assert stored_server_language("auto") is None
    assert stored_server_language("fr") == "fr"
    with pytest.raises(ValueError, match="no catalog"):
        stored_server_language("de")
