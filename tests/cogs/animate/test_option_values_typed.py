"""What a member types into a choice option instead of picking a suggestion (Discord lets
them type up to 6,000 characters into an autocompleted text option): the refusal names a
short, escaped part of it, and is sent, rather than "something went wrong"."""

from __future__ import annotations

import logging

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy


@pytest.mark.parametrize("option", ["ratio", "resolution"])
async def test_a_long_typed_value_is_refused_with_what_the_model_takes(
    bot: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    caplog: pytest.LogCaptureFixture,
    option: str,
) -> None:
    typed = "**" + "x" * 2997 + " @everyone"
    ix = await discord_fake.invoke("animate", image=png(), prompt="p", **{option: typed})
    await discord_fake.wait_for(lambda: ix.original_id)
    answer = discord_fake.messages[ix.original_id]
    assert answer.ephemeral
    assert "does not take" in answer.content and "It takes:" in answer.content
    assert len(answer.content) < 500 and "**xxx" not in answer.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert runcomfy_fake.submits == []
