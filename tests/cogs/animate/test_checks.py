"""/animate's checks: the picture and the prompt, refused or fitted before a submit."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, start_queued, status_message
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_declared_non_image_is_refused_before_any_defer(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke(
        "animate",
        image=b"%PDF-1.7 not an image",
        prompt="x",
        attachment_meta={"filename": "doc.pdf", "content_type": "application/pdf"},
    )
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    assert "PNG, JPEG, WebP or GIF" in discord_fake.messages[ix.original_id].content
    assert runcomfy_fake.submits == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 0


async def test_aspect_refusal_says_the_ratio_and_the_range(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke("animate", image=png(1500, 500), prompt="x")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    text = discord_fake.messages[ix.original_id].content
    assert ix.ephemeral and "1500×500" in text and "3.00" in text and "0.4" in text
    assert runcomfy_fake.submits == []


async def test_lying_metadata_is_caught_on_the_real_bytes(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix = await discord_fake.invoke(
        "animate",
        image=b"just text, renamed" * 50,
        prompt="x",
        attachment_meta={
            "filename": "cat.png",
            "content_type": "image/png",
            "width": 800,
            "height": 600,
        },
    )
    await discord_fake.wait_for(lambda: ix.followup_ids)
    assert ix.response_type == 5
    placeholder = discord_fake.messages[ix.original_id]
    assert placeholder.deleted  # the public "thinking" message does not linger
    error = discord_fake.messages[ix.followup_ids[0]]
    assert error.ephemeral and "PNG, JPEG, WebP or GIF" in error.content
    assert runcomfy_fake.submits == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 0


async def test_an_image_the_cdn_no_longer_serves_is_a_kind_error(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    attachment = discord_fake.add_cdn_file(png(), "photo.png", "image/png")
    del discord_fake.attachments[attachment.id]  # the CDN answers 404
    ix = await discord_fake.invoke("animate", image=attachment, prompt="x")
    await discord_fake.wait_for(lambda: ix.followup_ids)
    assert discord_fake.messages[ix.original_id].deleted
    error = discord_fake.messages[ix.followup_ids[0]]
    assert error.ephemeral and "could not download your image" in error.content
    assert runcomfy_fake.submits == []
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 0


async def test_prompt_rules(bot: AnimateBot, discord_fake: FakeDiscord) -> None:
    prompt_option = next(
        o for o in discord_fake.command("animate")["options"] if o["name"] == "prompt"
    )
    assert prompt_option["max_length"] == 2000
    with pytest.raises(ValueError, match="longer"):
        await discord_fake.invoke("animate", image=png(), prompt="x" * 2001)
    ix = await discord_fake.invoke("animate", image=png(), prompt="\u202e\u200b\x07")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.ephemeral and "empty" in discord_fake.messages[ix.original_id].content


async def test_long_prompt_is_warned_about_but_accepted(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix, status = await start_queued(discord_fake, runcomfy_fake)  # short prompt: no note
    assert "Note" not in json.dumps(status.embeds)
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="slow pan " * 70)
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2)
    assert "under 500 characters" in json.dumps(status_message(discord_fake, ix).embeds)


async def test_oversized_image_is_fitted_and_rehosted(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(6400, 3200), prompt="zoom out")
    await discord_fake.wait_for(lambda: runcomfy_fake.submits, within=10)
    url = runcomfy_fake.submits[0]["first_frame_image_url"]
    status = status_message(discord_fake, ix)
    (hosted,) = status.attachments
    assert url == hosted.url and hosted.filename.startswith("input-")
    with Image.open(io.BytesIO(hosted.data)) as fitted:
        assert 300 < fitted.width < 6000 and 300 < fitted.height < 6000
        assert fitted.width / fitted.height == pytest.approx(2.0, rel=0.01)
    assert status.embeds[0]["thumbnail"]["url"] == f"attachment://{hosted.filename}"


async def test_plain_image_url_is_passed_as_is(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    ix, _ = await start_queued(discord_fake, runcomfy_fake)
    original = ix.payload["data"]["resolved"]["attachments"]  # type: ignore[attr-defined]
    (attachment,) = original.values()
    assert runcomfy_fake.submits[0]["first_frame_image_url"] == attachment["url"]
