"""SIGTERM and SIGINT stop the bot cleanly, also as PID 1: exit 0 within 10 s, nothing lost.

The bot runs as a real separate process (its own `main()`) against the loopback fakes.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain import ACTIVE_STATUSES, JobStatus
from bot.store import JobStore
from tests.app.conftest import DiscordWithOutages
from tests.bot.test_config import bot_command
from tests.cogs.animate.helpers import png, state_of
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeUser
from tests.fakes.harness import settings_for_fakes
from tests.fakes.process import BotProcess, can_run_as_pid_1
from tests.fakes.runcomfy import FakeRunComfy, Timeline

STOP_WITHIN = 10.0  # `docker stop` sends SIGKILL after this
# Whatever Discord is doing: a stop never waits for it (room left for a loaded machine).
STOP_WHILE_CONNECTING_WITHIN = 8.0


def bot_settings(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path, **overrides: object
) -> Settings:
    return settings_for_fakes(
        discord_fake, runcomfy_fake, tmp_path / "bot.db", quota_user_concurrent=5, **overrides
    )


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "bot.log").read_text()


async def until_logged(tmp_path: Path, text: str, *, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if text in log_of(tmp_path):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never logged {text!r}")


def no_lingering_placeholder(fake: FakeDiscord) -> bool:
    """No "thinking…" message is left anywhere (a deleted one is gone for users)."""
    return not [m for m in fake.messages.values() if m.loading and not m.deleted]


async def jobs_in(settings: Settings, user: FakeUser) -> list:  # type: ignore[type-arg]
    async with await JobStore.open(settings.database_path) as store:
        return await store.list_for_user(user.id, limit=100)


@pytest.mark.parametrize(
    ("stop", "as_pid_1"),
    [
        (signal.SIGINT, False),
        # As PID 1 (a container's CMD) the kernel drops any signal without a handler.
        pytest.param(
            signal.SIGTERM,
            True,
            marks=pytest.mark.skipif(not can_run_as_pid_1(), reason="needs root and unshare"),
        ),
    ],
    ids=["SIGINT", "SIGTERM-as-PID-1"],
)
async def test_an_idle_bot_stops_on_the_signal_with_exit_0(
    discord_fake: FakeDiscord,
    runcomfy_fake: FakeRunComfy,
    tmp_path: Path,
    stop: signal.Signals,
    as_pid_1: bool,
) -> None:
    """SIGTERM without PID 1 is in every other test of this file."""
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start(as_pid_1=as_pid_1)
    bot.send(stop)
    code, seconds = await bot.wait_exit(within=STOP_WITHIN)
    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    log = log_of(tmp_path)
    assert f"Received {stop.name}" in log and "Traceback" not in log


async def test_tracked_jobs_stay_and_resume_and_a_command_in_its_grace_finishes_sending(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=5.0)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    runcomfy_fake.script(Timeline(manual=True), Timeline(manual=True), Timeline(manual=True))
    tracked = [await discord_fake.invoke("animate", image=png(), prompt=f"job {i}") for i in (1, 2)]
    await discord_fake.wait_for(lambda: len(runcomfy_fake.submits) == 2, within=15)
    # A third command is between its defer and its submit: its image is slow to download.
    discord_fake.cdn_latency = 1.5
    late = await discord_fake.invoke("animate", image=png(), prompt="job 3")
    await discord_fake.wait_for(lambda: discord_fake.cdn_in_flight == 1, within=10)

    code, seconds = await bot.terminate(within=STOP_WITHIN)

    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    assert len(runcomfy_fake.submits) == 3  # the third one finished sending in its grace
    assert no_lingering_placeholder(discord_fake)
    for ix in (*tracked, late):
        assert not discord_fake.messages[ix.original_id].deleted
    jobs = await jobs_in(settings, discord_fake.author)
    assert len(jobs) == 3 and all(j.status in ACTIVE_STATUSES for j in jobs)
    assert all(j.request_id is not None for j in jobs)  # rows stay, tracked again next start

    discord_fake.cdn_latency = 0.0
    await bot.start()
    try:
        for rid in runcomfy_fake.jobs:
            runcomfy_fake.set_state(rid, "completed")
        for _ in range(200):  # at most 10 s
            jobs = await jobs_in(settings, discord_fake.author)
            if all(j.status is JobStatus.DELIVERED for j in jobs):
                break
            await asyncio.sleep(0.05)
    finally:
        await bot.stop()
    assert [j.status for j in jobs] == [JobStatus.DELIVERED] * 3
    assert len(runcomfy_fake.submits) == 3  # resumed, never sent again
    assert "Traceback" not in log_of(tmp_path)


def refused_kindly(ix: FakeInteraction, fake: FakeDiscord) -> bool:
    message = fake.messages.get(ix.original_id or 0)
    return (
        ix.response_type == 4
        and message is not None
        and message.ephemeral
        and "restarting" in message.content
    )


async def test_a_command_caught_mid_way_says_nothing_was_sent_and_new_ones_are_refused(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=1.5)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    # Past its defer, stuck downloading its image for longer than the grace.
    discord_fake.cdn_latency = 30.0
    stuck = await discord_fake.invoke("animate", image=png(), prompt="a slow cat")
    await discord_fake.wait_for(lambda: discord_fake.cdn_in_flight == 1, within=10)
    assert discord_fake.messages[stuck.original_id].loading

    bot.send(signal.SIGTERM)
    await until_logged(tmp_path, "Received SIGTERM")
    # The gateway is still up during the grace: a new command gets a kind refusal,
    # and so does the /about command (no command starts while stopping).
    newcomer = await discord_fake.invoke("animate", image=png(), prompt="too late")
    about = await discord_fake.invoke("about")
    bot.send(signal.SIGINT)  # an impatient second signal: ignored, no traceback
    code, seconds = await bot.wait_exit(within=STOP_WITHIN)
    discord_fake.release_cdn()  # the download nobody waits for any more

    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    assert refused_kindly(newcomer, discord_fake) and refused_kindly(about, discord_fake)
    assert runcomfy_fake.submits == []
    assert no_lingering_placeholder(discord_fake)
    told = [
        m
        for m in discord_fake.visible_to(discord_fake.author)
        if "did not start your video" in m.content
    ]
    assert len(told) == 1 and told[0].ephemeral
    assert await jobs_in(settings, discord_fake.author) == []
    log = log_of(tmp_path)
    assert "Received SIGTERM" in log and "Received SIGINT" in log and "Traceback" not in log


async def test_a_command_already_sending_its_job_is_let_finish_past_the_grace(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """Interrupting a submit would leave a job that may exist and cost, but is not tracked."""
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=0.5)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    runcomfy_fake.script(Timeline(manual=True))
    runcomfy_fake.inject("submit", "slow", delay=2.5)
    ix = await discord_fake.invoke("animate", image=png(), prompt="a slow service")
    await discord_fake.wait_for(
        lambda: any(r.endpoint == "submit" for r in runcomfy_fake.requests), within=10
    )

    code, seconds = await bot.terminate(within=STOP_WITHIN)

    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    (job,) = await jobs_in(settings, discord_fake.author)
    assert job.status is JobStatus.IN_QUEUE and job.request_id is not None  # tracked next start
    assert len(runcomfy_fake.submits) == 1
    status = discord_fake.messages[ix.original_id]
    assert not status.loading and not status.deleted
    assert "Traceback" not in log_of(tmp_path)


async def test_a_submit_that_never_answers_still_lets_the_bot_exit_in_time(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """The worst case: cut off mid-submit at the deadline; the author is told at once."""
    settings = bot_settings(
        discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=6.0, http_timeout_seconds=30
    )
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    runcomfy_fake.inject("submit", "slow", delay=8.0)  # past the 6 s deadline
    ix = await discord_fake.invoke("animate", image=png(), prompt="a service that hangs")
    await discord_fake.wait_for(
        lambda: any(r.endpoint == "submit" for r in runcomfy_fake.requests), within=10
    )

    code, seconds = await bot.terminate(within=STOP_WITHIN)

    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    (job,) = await jobs_in(settings, discord_fake.author)
    # It may exist at the video service: never resent, and the author knows now.
    assert job.status is JobStatus.LOST and job.request_id is None
    status = discord_fake.messages[ix.original_id]
    assert not status.loading and "Lost" in state_of(status)
    told = [m for m in discord_fake.channel_messages() if "lost track of this video" in m.content]
    assert len(told) == 1 and told[0].pinged_users == {discord_fake.author.id}
    assert "Traceback" not in log_of(tmp_path)


async def test_a_post_to_channel_under_way_is_let_finish_and_a_new_one_refused_kindly(
    discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """Post to channel, the spoiler and Join answer a press with work of seconds (a file
    fetched and posted again): a stop cut them at once, the post lost, its button left
    greyed on a message only the author sees, and a traceback in the log."""
    settings = bot_settings(discord_fake, runcomfy_fake, tmp_path, shutdown_grace_seconds=5.0)
    bot = BotProcess(settings, discord_fake, tmp_path / "bot.log")
    await bot.start()
    runcomfy_fake.script(Timeline(queue_seconds=0.1, run_seconds=0.1))
    await discord_fake.invoke("animate", image=png(), prompt="a lighthouse", private=True)
    (private,) = await discord_fake.wait_for(lambda: private_videos(discord_fake), within=15)
    share = next(c for c in private.custom_ids if c.startswith("animate:share:"))
    discord_fake.cdn_latency = 1.5  # fetching the file again takes a while
    press = await discord_fake.click(private, share)
    await discord_fake.wait_for(lambda: discord_fake.cdn_in_flight == 1, within=10)

    bot.send(signal.SIGTERM)
    await until_logged(tmp_path, "Received SIGTERM")
    late = await discord_fake.click(private, share, user=discord_fake.author)
    code, seconds = await bot.wait_exit(within=STOP_WITHIN)

    assert code == 0 and seconds < STOP_WITHIN, log_of(tmp_path)
    assert press.response_type is not None
    (posted,) = [m for m in videos_of(discord_fake) if not m.ephemeral]
    assert "a lighthouse" in posted.content
    assert refused_kindly(late, discord_fake)
    assert "Traceback" not in log_of(tmp_path)


def videos_of(fake: FakeDiscord) -> list:  # type: ignore[type-arg]
    return [
        m
        for m in fake.messages.values()
        if not m.deleted and any(a.filename.endswith(".mp4") for a in m.attachments)
    ]


def private_videos(fake: FakeDiscord) -> list:  # type: ignore[type-arg]
    return [m for m in videos_of(fake) if m.ephemeral]


# -- a stop while Discord does not answer (issue 27 #19) -------------------------------


async def test_a_stop_during_a_login_discord_never_answers_exits_0_in_time(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    fake = discord_with_outages
    fake.login_hangs = True
    settings = bot_settings(fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, fake, tmp_path / "bot.log")
    await bot.start(until_connected=False)
    await fake.wait_for(lambda: fake.count("GET", "/users/@me") == 1, within=30)

    code, seconds = await bot.terminate(within=STOP_WITHIN)

    assert code == 0 and seconds < STOP_WHILE_CONNECTING_WITHIN, (seconds, log_of(tmp_path))
    log = log_of(tmp_path)
    assert "Received SIGTERM" in log and "Traceback" not in log


async def test_a_stop_while_discord_never_accepts_the_connection_exits_0_in_time(
    runcomfy_fake: FakeRunComfy, unanswered_url: str, tmp_path: Path
) -> None:
    """aiohttp gives a connection 30 s to be accepted; discord.py's login waits that long."""
    command = bot_command(
        tmp_path, unanswered_url, {"RUNCOMFY_BASE_URL": runcomfy_fake.base_url, "LOG_LEVEL": "INFO"}
    )
    with (tmp_path / "bot.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *command["args"], cwd=command["cwd"], env=command["env"], stdout=log, stderr=log
        )
    try:
        await until_logged(tmp_path, "logging in", within=30)
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        code = await asyncio.wait_for(proc.wait(), STOP_WITHIN)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    seconds = time.monotonic() - began
    assert code == 0 and seconds < STOP_WHILE_CONNECTING_WITHIN, (seconds, log_of(tmp_path))
    assert "Traceback" not in log_of(tmp_path)


RECONNECT_DELAY = re.compile(r"Attempting a reconnect for shard ID \d+ in ([\d.]+)s")


async def a_reconnect_delay_of_at_least(tmp_path: Path, seconds: float, *, within: float) -> float:
    """Wait until discord.py logs that it backs off for `seconds` or more; that delay."""
    seen = 0
    for _ in range(int(within / 0.05)):
        delays = [float(d) for d in RECONNECT_DELAY.findall(log_of(tmp_path))]
        if len(delays) > seen and delays[-1] >= seconds:
            return delays[-1]
        seen = len(delays)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reconnect delay of {seconds} s or more in {within} s")


async def test_a_stop_while_the_gateway_is_gone_and_the_bot_backs_off_exits_0_at_once(
    discord_with_outages: DiscordWithOutages, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    """discord.py's backoff between reconnects grows to minutes; `docker stop` waits 10 s."""
    fake = discord_with_outages
    settings = bot_settings(fake, runcomfy_fake, tmp_path)
    bot = BotProcess(settings, fake, tmp_path / "bot.log")
    await bot.start()
    fake.gateway_gone = True
    await fake.drop_gateway()
    # Random delays (up to 2, 4, 8... s): one of 4 s or more is a few attempts away.
    delay = await a_reconnect_delay_of_at_least(tmp_path, 4.0, within=60)

    code, seconds = await bot.terminate(within=STOP_WITHIN)

    assert code == 0, log_of(tmp_path)
    # Well before the backoff would have ended: the stop did not wait it out.
    assert seconds < min(STOP_WHILE_CONNECTING_WITHIN, delay - 1.0), (seconds, delay)
    assert "Received SIGTERM" in log_of(tmp_path)
