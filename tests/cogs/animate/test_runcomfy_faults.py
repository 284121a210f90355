"""/animate when RunComfy fails it: faults survived, operator problems, failed and late renders."""

from __future__ import annotations

import json

import pytest

from app.client import AnimateBot
from tests.cogs.animate.helpers import png, start_queued, state_of, status_message, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline


async def test_runcomfy_faults_are_survived(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(queue_seconds=0.3, run_seconds=0.3))
    # A third of status/result calls fail in every way the contract allows.
    runcomfy_fake.chaos(
        0.3, ["429", "500", "502", "503", "malformed", "error_200", "reset"], seed=4
    )
    runcomfy_fake.inject("result", "503")
    runcomfy_fake.inject("video", "500")
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    await wait_state(discord_fake, status_message(discord_fake, ix), "Done")
    assert len(runcomfy_fake.submits) == 1
    assert [
        m
        for m in discord_fake.channel_messages()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]  # the file, not a link
    failed = [r for r in discord_fake.requests if r.status >= 400]
    assert failed == []  # RunComfy's trouble never reached Discord as errors


@pytest.mark.parametrize("fault", ["balance", "token"])
async def test_operator_problems_tell_users_the_service_is_unavailable(
    bot: AnimateBot,
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runcomfy_fake.inject("submit", fault)
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Failed")
    assert "unavailable" in state_of(status)
    told = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "unavailable" in m.content]
    )
    assert told[0].pinged_users == {discord_fake.author.id}
    assert "❌" not in status.reactions
    assert any(r.levelname == "ERROR" and "RunComfy" in r.getMessage() for r in caplog.records)


async def test_failed_render_ends_with_its_reason(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(
        Timeline(
            queue_seconds=0.05,
            run_seconds=0.05,
            outcome="failed",
            error={"message": "input image rejected by safety filter"},
        )
    )
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Failed")
    # A kind sentence by category in public; the service's own words only in /history.
    assert "refused this prompt or image" in state_of(status)
    told = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "could not be made" in m.content]
    )
    public = json.dumps([m.embeds for m in discord_fake.channel_messages()]) + told[0].content
    assert "safety filter" not in public
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    assert job.error is not None and "safety filter" in job.error


async def test_a_job_past_the_overall_timeout_ends_timed_out(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await runner.start(job_timeout_seconds=0.5)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await wait_state(discord_fake, status, "Timed out")
    assert runcomfy_fake.count("cancel") == 1  # a queued job is dropped so it is not billed
    await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "took too long" in m.content]
    )
