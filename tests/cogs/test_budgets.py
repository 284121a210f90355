"""Money held whatever members do: a server's limits and budgets, the operator's daily cap.

Black box: the real bot against both fakes. The fake RunComfy bills each video as
Seedance does (`tests.fakes.runcomfy.seedance_bill`), so the costs it reports are what
the budgets must hold against.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from typing import Any

import pytest

from app.client import AnimateBot
from bot.domain import Job, JobStatus
from bot.models.estimate import first_estimate
from tests.cogs.animate.helpers import (
    png,
    start_queued,
    status_message,
    until_queued_and_cancellable,
    wait_state,
)
from tests.cogs.animate.test_results import button, value_labelled, videos
from tests.cogs.test_admin import admin, answer, refused_animate
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage, FakeUser
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, HostedModel, Timeline, seedance_bill
from tests.fakes.schemas import seedance_15
from tests.models import options, seedance

# -- issue 27 #3: a member's day counts charged jobs only ----------------------------------


async def test_a_job_cancelled_while_queued_leaves_the_members_day_unused(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await admin(discord_fake, "limits", per_user_daily=1)
    _, status = await start_queued(discord_fake, runcomfy_fake)
    await discord_fake.react(status, user=discord_fake.author)
    await wait_state(discord_fake, status, "Cancelled")
    assert runcomfy_fake.count("cancel") == 1  # dropped from the queue: never billed

    # The cancelled job cost nothing: the member's one video of the day is still theirs.
    runcomfy_fake.script(Timeline(manual=True))
    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 5, answer(discord_fake, ix)  # deferred publicly, not refused
    await discord_fake.wait_for(lambda: ix.original_id)
    await until_queued_and_cancellable(discord_fake, status_message(discord_fake, ix))
    assert len(runcomfy_fake.submits) == 2
    # And that one counts: the next is refused, naming the server's limit.
    refused = await refused_animate(discord_fake)
    assert "1 video in the last 24 hours" in answer(discord_fake, refused)
    assert len(runcomfy_fake.submits) == 2


# -- issue 27 #1: a budget holds whatever the options ---------------------------------------


def test_the_fake_bills_as_seedance_does() -> None:
    hosted = HostedModel(seedance_15(), base_price_usd=0.024, price_unit="second")
    bill = {
        (resolution, audio): seedance_bill(options(resolution=resolution, audio=audio), hosted)
        for resolution in ("480p", "720p", "1080p")
        for audio in (True, False)
    }
    assert bill["480p", True] == pytest.approx(0.024 * 5)  # the base price × 5 s
    assert bill["480p", False] == pytest.approx(0.024 * 5 / 1.5)
    assert bill["720p", True] / bill["480p", True] == pytest.approx(2.15, abs=0.01)
    assert bill["1080p", True] / bill["480p", True] == pytest.approx(4.84, abs=0.01)
    twelve = seedance_bill(options(duration=12), hosted)
    assert twelve == pytest.approx(0.024 * 12)


def test_the_first_estimate_is_never_below_the_bill_of_any_kind() -> None:
    # Before the bot has delivered a kind it guesses; the guess must err high, never low.
    model, hosted = seedance(), HostedModel(seedance_15(), base_price_usd=0.024)
    for resolution, duration, audio in itertools.product(
        ("480p", "720p", "1080p"), range(4, 13), (True, False)
    ):
        chosen = options(resolution=resolution, duration=duration, audio=audio)
        estimate, billed = first_estimate(model, chosen), seedance_bill(chosen, hosted)
        assert estimate is not None and billed is not None
        assert estimate >= billed, (resolution, duration, audio, estimate, billed)


BUDGET = 5.0
TOP = {"resolution": "1080p", "duration": 12, "audio": True}  # the dearest video there is
# Each job in flight a moment: the next is asked for while it still counts at its estimate.
BRIEF = Timeline(queue_positions=(1,), queue_seconds=0.3, run_seconds=0.3)
REFUSALS = ("budget for today", "daily video budget")


def outcome(fake: FakeDiscord, runcomfy: FakeRunComfy, ix: FakeInteraction, before: int) -> str:
    """What came of a request: admitted (it reached RunComfy), refused (the asker was told
    of the budget), or nothing yet (empty)."""
    if len(runcomfy.submits) > before:
        return "admitted"
    for message_id in (ix.original_id, *ix.followup_ids):
        said = fake.messages.get(message_id) if message_id is not None else None
        if said is not None and said.ephemeral and any(r in said.content for r in REFUSALS):
            return "refused"
    return ""


async def ask(
    fake: FakeDiscord, runcomfy: FakeRunComfy, how: str, press: Awaitable[FakeInteraction]
) -> tuple[str, bool]:
    runcomfy.script(BRIEF)
    before = len(runcomfy.submits)
    ix = await press
    said = await fake.wait_for(lambda: outcome(fake, runcomfy, ix, before), within=10)
    return how, said == "admitted"


async def pressable(fake: FakeDiscord, video: FakeMessage) -> FakeMessage:
    """`video` once its buttons are offered again (greyed while a job from it starts)."""
    await fake.wait_for(
        lambda: not any(c.get("disabled") for row in video.components for c in row["components"])
    )
    return video


async def remix_to(
    fake: FakeDiscord, video: FakeMessage, user: FakeUser, picks: dict[str, str]
) -> FakeInteraction:
    """Remix `video` choosing, by their labels, the options in `picks` (or the refusal)."""
    shown = await fake.click(await pressable(fake, video), button(video, "remix"), user=user)
    await fake.wait_for(lambda: shown.response_type is not None)
    if shown.modal is None:
        return shown  # refused before the form: its answer says why
    selects = {row["label"]: row["component"] for row in shown.modal["components"][1:]}
    values = {
        selects[label]["custom_id"]: [value_labelled(selects[label], choice)]
        for label, choice in picks.items()
    }
    return await fake.submit_modal(shown, values)


async def settled_costs(
    bot: AnimateBot, runcomfy: FakeRunComfy, members: list[FakeUser]
) -> tuple[list[float], list[Job]]:
    """Once every job has ended: what RunComfy billed each admitted one, and the jobs."""
    store = bot.jobs.store
    for _ in range(200):
        if await store.count_active() == 0:
            break
        await asyncio.sleep(0.05)
    assert await store.count_active() == 0
    jobs = {j.request_id: j for m in members for j in await store.list_for_user(m.id, limit=100)}
    costs = []
    for request_id, billed in runcomfy.jobs.items():
        assert billed.cost is not None
        costs.append(billed.cost)
        # Every admitted video was delivered, and its real cost recorded.
        job = jobs[request_id]
        assert job.status is JobStatus.DELIVERED and job.cost == pytest.approx(billed.cost)
    return costs, list(jobs.values())


def report(title: str, asked: list[tuple[str, bool]], costs: list[float], jobs: list[Job]) -> None:
    admitted = [how for how, ok in asked if ok]
    print(f"\n{title}: budget ${BUDGET:.2f}; asked {len(asked)}, admitted {len(admitted)}")
    print(f"  admitted through: {', '.join(admitted)}")
    print(f"  real costs: {' + '.join(f'{c:.3f}' for c in costs)} = ${sum(costs):.3f}")
    estimates = [j.estimate_usd or 0.0 for j in sorted(jobs, key=lambda j: j.id or 0)]
    print(f"  estimates at admission: {', '.join(f'{e:.3f}' for e in estimates)}")


async def test_a_servers_budget_holds_for_the_dearest_videos_whatever_the_way_in(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Jobs were admitted as 480p ones whatever their options: under $5 about 17 such
    # videos fit, several times the budget once their real costs landed.
    members = [discord_fake.add_user(f"member{i}") for i in range(6)]
    bot = await runner.start()
    await admin(discord_fake, "limits", daily_spend_usd=BUDGET)
    fake, rc = discord_fake, runcomfy_fake

    # A 720p video to go on from: "Again in 1080p" and Remix start from it.
    source_options = {**TOP, "resolution": "720p"}
    asked = [await ask(fake, rc, "/animate 720p", animate(fake, members[0], **source_options))]
    source = (await fake.wait_for(lambda: videos(fake), within=10))[0]
    assert asked[0][1] and "720p" in source.content

    ways = [
        lambda user: ("Again in 1080p", higher(fake, source, user)),
        lambda user: ("Remix to 1080p", remix_to(fake, source, user, REMIX_TOP)),
        lambda user: ("/animate 1080p", animate(fake, user, **TOP)),
    ]
    refused_at = None
    for turn in range(30):  # far more than $5 of them
        how, press = ways[turn % len(ways)](members[turn % len(members)])
        asked.append(await ask(fake, rc, how, press))
        if not asked[-1][1]:
            refused_at = turn
            break
    assert refused_at is not None, "never refused"
    # Refused every way in, whoever asks, once the budget is reached.
    for way in ways:
        how, press = way(members[-1])
        assert not (await ask(fake, rc, how, press))[1], how
    costs, jobs = await settled_costs(bot, rc, members)
    report("Server budget", asked, costs, jobs)
    assert len(costs) == sum(ok for _, ok in asked)
    assert [(s["resolution"], s["duration"], s["generate_audio"]) for s in rc.submits] == [
        ("720p", 12, True),
        *[("1080p", 12, True)] * (len(rc.submits) - 1),
    ]
    assert sum(costs) <= BUDGET + max(costs)


async def test_the_operators_daily_spend_holds_across_a_server_and_dms(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    members = [discord_fake.add_user(f"member{i}") for i in range(6)]
    bot = await runner.start(daily_spend_usd=BUDGET)
    fake, rc = discord_fake, runcomfy_fake
    asked: list[tuple[str, bool]] = []
    for round_ in range(10):
        # Bursts in the server and in DMs, turn about, while the last ones still render;
        # then the next burst once their costs are known.
        burst = []
        for turn in range(6):
            in_dm = (round_ + turn) % 2 == 1
            how = "DM" if in_dm else "server"
            burst.append(await ask(fake, rc, how, animate(fake, members[turn], dm=in_dm, **TOP)))
        asked += burst
        if not any(ok for _, ok in burst):
            break
        await fake.wait_for(lambda: len(delivered_videos(fake)) == len(rc.jobs), within=10)
    else:
        raise AssertionError("never refused")
    costs, jobs = await settled_costs(bot, rc, members)
    report("Operator's DAILY_SPEND_USD", asked, costs, jobs)
    assert {j.guild_id is None for j in jobs} == {True, False}  # both places spent
    assert sum(costs) <= BUDGET + max(costs)


REMIX_TOP = {"Resolution": "1080p", "Duration": "12 s", "Sound": "audio on"}


def delivered_videos(fake: FakeDiscord) -> list[FakeMessage]:
    """The videos posted, in the server and in DMs."""
    return [
        m
        for m in fake.messages.values()
        if m.attachments and m.attachments[0].filename.endswith(".mp4")
    ]


async def higher(fake: FakeDiscord, video: FakeMessage, user: FakeUser) -> FakeInteraction:
    return await fake.click(await pressable(fake, video), button(video, "higher"), user=user)


async def animate(fake: FakeDiscord, user: FakeUser, **options: Any) -> FakeInteraction:
    return await fake.invoke("animate", image=png(), prompt="a cat yawns", user=user, **options)


# -- a cost no video has ------------------------------------------------------------------


# 10**400: a JSON integer too large for a float (reading it raised OverflowError).
@pytest.mark.parametrize("reported", [1e9, 1e300, 10**400])
async def test_a_cost_beyond_any_videos_is_unknown_the_video_still_delivered(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, reported: float
) -> None:
    # RunComfy lying (or a unit gone wrong): $1e300 failed the status and both ways of
    # posting (a money format raised), so the paid video was never shown; $1e9 filled the
    # operator's daily cap for a day.
    bot = await runner.start(daily_spend_usd=1.0)
    fake, rc = discord_fake, runcomfy_fake
    rc.script(Timeline(queue_seconds=0.1, run_seconds=0.1, cost=reported))
    first = await fake.invoke("animate", image=png(), prompt="a cat yawns")
    await fake.wait_for(lambda: delivered_videos(fake), within=10)
    await wait_state(fake, status_message(fake, first), "Done")
    (job,) = await bot.jobs.store.list_for_user(fake.author.id)
    assert job.status is JobStatus.DELIVERED and job.cost is None  # counted at its estimate
    rc.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await fake.invoke("animate", image=png(), prompt="a dog yawns")
    await fake.wait_for(lambda: len(delivered_videos(fake)) == 2, within=10)
