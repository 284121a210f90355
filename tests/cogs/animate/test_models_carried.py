"""A job's model follows it: Remix, Extend and /history's "Animate again" of a job made
with a model that is not the default send to that model again; a server whose default
model is retired gets the next one, with a note, and the operator hears it once.

The real bot against both fakes; the fake RunComfy checks every body against the
schema of the model it is sent to (a body for the wrong model is a 422).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png
from tests.cogs.animate.test_extend import CLIP, extend_id, until_reacted
from tests.cogs.animate.test_models import delivered, submits_to
from tests.cogs.animate.test_results import button, value_labelled
from tests.cogs.test_history import press, reply
from tests.fakes import media
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, SEEDANCE_25_1080, seedance_25

BOTH = [SEEDANCE_15, SEEDANCE_25]
QUICK = Timeline(queue_seconds=0.05, run_seconds=0.05)


@pytest.fixture
async def two_models(runner: BotRunner, runcomfy_fake: FakeRunComfy) -> AsyncIterator[AnimateBot]:
    runcomfy_fake.host(SEEDANCE_25, seedance_25(), base_price_usd=0.35)
    yield await runner.start(runcomfy_model_ids=BOTH, admin_channel_id=None)


async def test_remix_keeps_the_source_jobs_model(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(QUICK, QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25, duration=7)
    (video,) = await delivered(discord_fake)
    shown = await discord_fake.click(video, button(video, "remix"))
    await discord_fake.wait_for(lambda: shown.modal)
    assert shown.modal is not None
    prompt_input = shown.modal["components"][0]["components"][0]
    selects = {row["label"]: row["component"] for row in shown.modal["components"][1:]}
    # The form offers what Seedance 2.5 takes: no resolution, no ratio.
    assert "Resolution" not in selects and "Aspect ratio" not in selects
    sound = selects["Sound"]
    await discord_fake.submit_modal(
        shown,
        {
            prompt_input["custom_id"]: "the waves freeze",
            sound["custom_id"]: [value_labelled(sound, "no audio")],
        },
    )
    await delivered(discord_fake, 2)
    first, remixed = submits_to(runcomfy_fake, SEEDANCE_25)
    assert remixed == {**first, "prompt": "the waves freeze", "generate_audio": False,
                       "image": remixed["image"]}  # fmt: skip
    assert remixed["duration"] == 7
    assert submits_to(runcomfy_fake, SEEDANCE_15) == []


async def test_extend_keeps_the_source_jobs_model(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    runcomfy_fake.script(
        Timeline(queue_seconds=0.05, run_seconds=0.05, media=media.clip_bytes(tmp_path, CLIP)),
        Timeline(manual=True),
    )
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25, duration=9)
    (video,) = await delivered(discord_fake)
    pressed = await discord_fake.click(video, extend_id(video))
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=30)
    await until_reacted(discord_fake, pressed)
    first, extension = submits_to(runcomfy_fake, SEEDANCE_25)
    assert extension["duration"] == 9 and extension["image"] != first["image"]
    assert submits_to(runcomfy_fake, SEEDANCE_15) == []


async def test_history_animate_again_keeps_the_jobs_model(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(QUICK, Timeline(manual=True))
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25, duration=11)
    await delivered(discord_fake)
    (job,) = await two_models.jobs.store.list_for_user(discord_fake.author.id)
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    assert "Seedance 2.5" in str(detail.embeds)
    await press(discord_fake, detail, "Animate again")
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=10)
    first, again = submits_to(runcomfy_fake, SEEDANCE_25)
    assert again == {**first, "image": again["image"]}
    await discord_fake.wait_for(lambda: runcomfy_fake.count("status") > 0, within=10)


async def test_a_server_whose_default_model_is_retired_gets_the_next_with_a_note(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    bot = await runner.start(runcomfy_model_ids=BOTH, admin_channel_id=discord_fake.art)
    await discord_fake.invoke("admin models", user=discord_fake.admin, default=SEEDANCE_25)
    runcomfy_fake.models[SEEDANCE_25].retired = True
    for _ in range(3):  # confirmed, then refreshed again: still one alert
        await bot.services.models.refresh()
    alerts = discord_fake.channel_messages(discord_fake.art)
    assert len(alerts) == 1 and "RUNCOMFY_MODEL_IDS" in alerts[0].content
    assert SEEDANCE_25 in alerts[0].content

    runcomfy_fake.script(QUICK)
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert len(submits_to(runcomfy_fake, SEEDANCE_15)) == 1
    notes = [discord_fake.messages[i].content for i in ix.followup_ids]
    assert any("Seedance 2.5" in n and "Seedance v1.5 pro" in n for n in notes), notes
    # Named, the retired model is refused, and nothing is sent for it.
    named = await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25)
    assert "not available" in (await reply(discord_fake, named)).content
    assert submits_to(runcomfy_fake, SEEDANCE_25) == []


async def test_a_model_retired_under_a_submit_is_confirmed_soon_and_only_it_is_refused(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # RunComfy retires the default model between two hourly readings: a submit answers
    # 400001. The model is read again within the confirmation delay (a minute; short
    # here), found gone, and the other model carries on.
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    bot = await runner.start(runcomfy_model_ids=BOTH, admin_channel_id=discord_fake.art)
    bot.services.models.confirm_seconds = 0.2
    runcomfy_fake.models[SEEDANCE_15].retired = True
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: runcomfy_fake.count("submit") == 1, within=10)
    await discord_fake.wait_for(
        lambda: [m.model_id for m in bot.services.models.available()] == [SEEDANCE_25], within=5
    )
    # The operator's alert follows the retirement: it is posted a moment later.
    await discord_fake.wait_for(lambda: discord_fake.channel_messages(discord_fake.art), within=5)
    (alert,) = discord_fake.channel_messages(discord_fake.art)
    assert SEEDANCE_15 in alert.content and "RUNCOMFY_MODEL_IDS" in alert.content
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.status.value == "failed" and job.request_id is None  # nothing charged
    assert ix.response_type == 5

    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert len(submits_to(runcomfy_fake, SEEDANCE_25)) == 1


async def test_admins_narrow_the_operators_models_and_never_add_to_them(
    two_models: AnimateBot, discord_fake: FakeDiscord
) -> None:
    store = two_models.jobs.store
    guild = discord_fake.guild_id
    stranger = "someone/else/image-to-video"
    for option in ("default", "allow", "deny"):
        ix = await discord_fake.invoke(
            "admin models", user=discord_fake.admin, **{option: stranger}
        )
        said = (await reply(discord_fake, ix)).content
        assert "not one of this bot's models" in said and "Seedance 2.5" in said, option
    assert (await store.guild_settings(guild)).allowed_model_ids == ()
    assert (await store.guild_settings(guild)).default_model_id is None

    ix = await discord_fake.invoke("admin models", user=discord_fake.admin, deny=SEEDANCE_15)
    await reply(discord_fake, ix)
    ix = await discord_fake.invoke("admin models", user=discord_fake.admin, deny=SEEDANCE_25)
    assert "no model at all" in (await reply(discord_fake, ix)).content
    assert (await store.guild_settings(guild)).allowed_model_ids == (SEEDANCE_25,)
    ix = await discord_fake.invoke("admin models", user=discord_fake.admin, every=True)
    await reply(discord_fake, ix)
    assert (await store.guild_settings(guild)).allowed_model_ids == ()
    offered = await discord_fake.autocomplete("animate", "model", "")
    assert [c["value"] for c in offered] == BOTH


async def test_a_default_the_server_itself_stops_offering_brings_no_note(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The note says a server's default is gone (retired); an admin who sets a default
    # and then denies it chose otherwise, and members were told "no longer offered"
    # on every /animate.
    for change in ({"default": SEEDANCE_25}, {"deny": SEEDANCE_25}):
        await reply(
            discord_fake,
            await discord_fake.invoke("admin models", user=discord_fake.admin, **change),
        )
    runcomfy_fake.script(QUICK)
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await delivered(discord_fake)
    assert len(submits_to(runcomfy_fake, SEEDANCE_15)) == 1
    said = [discord_fake.messages[i].content for i in ix.followup_ids]
    assert not [text for text in said if "default model" in text]


async def test_the_animate_menu_on_a_jobs_status_message_carries_the_jobs_model(
    two_models: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The menu took the server's default model whatever the message: on the status
    # message of a Seedance 2.5 job it offered Seedance 1.5 pro's options and sent there.
    runcomfy_fake.script(QUICK, QUICK)
    first = await discord_fake.invoke(
        "animate", image=png(), prompt="p", model=SEEDANCE_25, duration=8
    )
    await delivered(discord_fake)
    status = discord_fake.messages[first.original_id]  # type: ignore[index]
    assert status.attachments  # it hosts the input image
    someone = discord_fake.add_user("someone")
    ix = await discord_fake.invoke_message_command("Animate", status, user=someone)
    await discord_fake.wait_for(lambda: ix.modal)
    assert ix.modal is not None
    selects = {row["label"]: row["component"] for row in ix.modal["components"][1:]}
    assert "Resolution" not in selects and "Aspect ratio" not in selects
    prompt_id = ix.modal["components"][0]["components"][0]["custom_id"]
    await discord_fake.submit_modal(ix, {prompt_id: "the cat yawns"})
    await delivered(discord_fake, 2)
    _, menu = submits_to(runcomfy_fake, SEEDANCE_25)
    assert menu["prompt"] == "the cat yawns" and menu["duration"] == 8
    assert submits_to(runcomfy_fake, SEEDANCE_15) == []


async def test_higher_resolution_is_offered_only_as_a_model_this_server_offers(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The 1080p sibling model was offered under every 720p video, also where the server
    # had stopped offering it: pressing it was refused.
    runcomfy_fake.host(SEEDANCE_25, seedance_25())
    runcomfy_fake.host(SEEDANCE_25_1080, seedance_25())
    await runner.start(runcomfy_model_ids=[SEEDANCE_15, SEEDANCE_25, SEEDANCE_25_1080])
    deny = await discord_fake.invoke("admin models", user=discord_fake.admin, deny=SEEDANCE_25_1080)
    await reply(discord_fake, deny)
    runcomfy_fake.script(QUICK)
    await discord_fake.invoke("animate", image=png(), prompt="p", model=SEEDANCE_25)
    (video,) = await delivered(discord_fake)
    labels = [c.get("label", "") for row in video.components for c in row["components"]]
    assert labels and not any("1080p" in label for label in labels), labels
