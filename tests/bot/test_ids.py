"""Discord ids as people type them (issue 27, item 14): ASCII digits of a snowflake's
size, nothing else, and a refusal that never repeats what was typed."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from tests.bot.test_config import TOKENS, settings_error

# Digits Python's isdigit() accepts but no snowflake is written with, and numbers too
# large for one (a snowflake is an unsigned 64-bit integer).
NOT_SNOWFLAKES = ("²", "123,²", "١٢٣", "１２３", "1" * 21, str(2**64))


@pytest.mark.parametrize(
    ("field", "words"), [("discord_guild_ids", "server ids"), ("owner_ids", "user ids")]
)
def test_id_lists_take_only_ascii_digits_of_a_snowflakes_size(field: str, words: str) -> None:
    for value in NOT_SNOWFLAKES:
        text = settings_error(**TOKENS, **{field: value})
        assert field.upper() in text and f"comma-separated numeric {words}" in text, value
        assert value.split(",")[-1] not in text, "the value was echoed back"


def test_the_largest_snowflake_is_an_id() -> None:
    top = str(2**64 - 1)
    parsed = load_settings(_env_file=None, **TOKENS, owner_ids=f"{top}, 7")
    assert parsed.owner_ids == [2**64 - 1, 7]


def test_shard_ids_are_small_ascii_numbers() -> None:
    text = settings_error(**TOKENS, shard_ids="0,²", shard_count=2)
    assert "SHARD_IDS" in text and "comma-separated shard numbers" in text
    assert "²" not in text


@pytest.mark.parametrize("value", ["²", "-5", str(2**64), "12a"])
def test_the_admin_channel_is_a_snowflake_too(value: str) -> None:
    # It was read as any integer: -5 or 2**64 started the bot, whose alerts then failed.
    text = settings_error(**TOKENS, admin_channel_id=value)
    assert "ADMIN_CHANNEL_ID" in text and "numeric channel id" in text
    assert value not in text, "the value was echoed back"
    parsed = load_settings(_env_file=None, **TOKENS, admin_channel_id=" 123 ")
    assert parsed.admin_channel_id == 123
