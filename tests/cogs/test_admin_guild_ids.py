"""/admin's `guild:` as an operator may type it: a 20-digit number above what the database
holds (signed 64-bit) is no server id, not "something went wrong" and an error logged."""

from __future__ import annotations

import logging

import pytest

from tests.cogs.test_admin import admin
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner


@pytest.mark.parametrize("value", [str(2**63), str(2**64 - 1)])
async def test_a_guild_id_above_what_the_store_holds_is_refused_as_no_server_id(
    runner: BotRunner, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    owner = discord_fake.stranger
    await runner.start(owner_ids=[owner.id])
    for sub in ("pause", "limits", "usage"):
        text = await admin(discord_fake, sub, user=owner, guild=value)
        assert "not a server ID" in text and value not in text, (sub, text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The largest id the store holds is still one.
    text = await admin(discord_fake, "pause", user=owner, guild=str(2**63 - 1))
    assert "Paused" in text
