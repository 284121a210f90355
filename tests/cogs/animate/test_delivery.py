"""Work is never lost at the edges of delivery (issue 12, items 5, 7, 8, 9, 11).

A finished job without a video, a CDN that trickles or 404s, URLs that must not be
fetched, per-job state that must not outlive the job, and a RunComfy that cannot
be reached. JobService runs against the loopback RunComfy fake (the observer is
the recorder of tests/bot/jobs/test_service.py); the end-to-end ones run the real bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest

from bot.domain import JobStatus
from bot.downloads import (
    DownloadError,
    DownloadProblem,
    cdn_client,
    download_to_file,
    is_public_address,
)
from bot.jobs import RESULT_ATTEMPTS, LinkReason
from tests.bot.jobs.harness import Harness
from tests.bot.jobs.harness import harness_factory as _harness_factory
from tests.cogs.animate.helpers import png, request_id_of, state_of, status_message, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy, Timeline

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared

FAST = {"queue_seconds": 0.05, "run_seconds": 0.05}


def jobs_log(caplog: pytest.LogCaptureFixture, logger: str, level: int) -> list[str]:
    """Messages of `logger` and its children (bot.jobs: bot.jobs.service, ...)."""
    return [
        r.getMessage()
        for r in caplog.records
        if (r.name == logger or r.name.startswith(logger + ".")) and r.levelno >= level
    ]


# -- item 5: a result without a video ends quickly ------------------------------------


@pytest.mark.parametrize(
    "timeline",
    [
        Timeline(result_output={}, **FAST),
        Timeline(result_output={"video": ""}, **FAST),
        Timeline(result_output={"video": 42}, **FAST),
        Timeline(result_output={"videos": []}, **FAST),
        Timeline(result_output="not an object", **FAST),
        Timeline(result_output={}, result_status_word="¿garbage?", **FAST),
    ],
    ids=["empty", "empty-string", "not-a-string", "empty-list", "output-not-object", "garbage"],
)
async def test_a_result_without_a_video_fails_quickly_and_is_logged(
    harness_factory, caplog: pytest.LogCaptureFixture, timeline: Timeline
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(timeline)
    job = await h.start_job()
    began = time.monotonic()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]

    assert time.monotonic() - began < 8  # not the 10 minutes of the job's timeout
    assert [j.status for j in h.observer.ended] == [JobStatus.FAILED]
    assert failed.error and "no video" in failed.error
    assert "garbage" not in failed.error and "42" not in failed.error  # no upstream words
    assert h.observer.delivered == []
    assert h.fake.count("result") <= RESULT_ATTEMPTS
    assert any(f"Job {job.id}" in line for line in jobs_log(caplog, "bot.jobs", logging.WARNING))


@pytest.mark.parametrize(
    ("output", "ends"),
    [({}, JobStatus.FAILED), (None, JobStatus.DELIVERED)],
    ids=["no-video", "video"],
)
async def test_a_rendering_job_whose_result_says_nonsense_is_checked_on_status(
    harness_factory, caplog: pytest.LogCaptureFixture, output: dict | None, ends: JobStatus
) -> None:
    # Rendering jobs poll /result. An unknown word there is "still running" by the
    # contract, so a job done at RunComfy stayed "Rendering" till its timeout (CI saw it
    # when the poll landed mid-render): /status, which says "completed", settles it.
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(manual=True, result_output=output, result_status_word="¿garbage?"))
    job = await h.start_job()
    request_id = next(iter(h.fake.jobs))
    h.fake.set_state(request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS, within=8)  # type: ignore[arg-type]
    h.fake.set_state(request_id, "completed")
    began = time.monotonic()
    await h.wait_status(job.id, ends, within=8)  # type: ignore[arg-type]

    assert time.monotonic() - began < 8  # not the 10 minutes of the job's timeout
    shown = [j.status for j in h.observer.ended] + [JobStatus.DELIVERED] * len(h.observer.delivered)
    assert shown == [ends]
    assert h.fake.count("result") <= RESULT_ATTEMPTS  # the unclear poll was the first try
    warned = jobs_log(caplog, "bot.runcomfy.client", logging.WARNING)
    assert sum("garbage" in line for line in warned) == 1  # logged once, not per poll


async def test_a_result_expired_after_completion_says_so(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(**FAST))
    h.fake.inject("result", "expired", times=50)
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]
    assert failed.error and "no longer" in failed.error
    assert "404001" not in failed.error and "Request not found" not in failed.error
    assert any("expired" in line for line in jobs_log(caplog, "bot.jobs", logging.WARNING))


async def test_a_render_whose_result_is_gone_when_polled_says_so(harness_factory) -> None:
    # Rendering jobs are polled on /result: its 404 (expired) is that, not a refusal.
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    request_id = next(iter(h.fake.jobs))
    h.fake.set_state(request_id, "in_progress")
    await h.wait_status(job.id, JobStatus.IN_PROGRESS, within=8)  # type: ignore[arg-type]
    h.fake.inject("result", "expired", times=50)
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=8)  # type: ignore[arg-type]
    assert failed.error and "no longer" in failed.error


# -- item 7: downloads have a deadline and failures are told truthfully -------------


async def test_a_trickling_cdn_cannot_hold_a_delivery(harness_factory) -> None:
    h: Harness = await harness_factory(video_download_timeout_seconds=0.5)
    h.fake.script(Timeline(video_size=2_000_000, video_trickle_seconds=0.01, **FAST))
    job = await h.start_job()
    began = time.monotonic()
    await h.wait_status(job.id, JobStatus.DELIVERED, within=6)  # type: ignore[arg-type]
    assert time.monotonic() - began < 4
    assert [video for _, video in h.observer.delivered] == [None]  # the link instead
    assert h.observer.reasons == [LinkReason.UNAVAILABLE]


async def test_a_video_the_cdn_cannot_serve_is_linked_as_unavailable(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(video_status=404, **FAST))
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.observer.reasons == [LinkReason.UNAVAILABLE]


async def test_a_video_too_large_is_linked_as_too_large(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.observer.limit = 1000
    h.fake.script(Timeline(video_size=50_000, **FAST))
    job = await h.start_job()
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.observer.reasons == [LinkReason.TOO_LARGE]


async def test_the_link_says_the_file_could_not_be_fetched_not_too_large(
    bot: object, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(Timeline(video_status=404, queue_seconds=0.1, run_seconds=0.1))
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    link = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "/videos/" in m.content],
        within=10,
    )
    assert runcomfy_fake.video_url(request_id_of(runcomfy_fake)) in link[0].content
    assert "could not fetch" in link[0].content
    assert "upload limit" not in link[0].content and "larger" not in link[0].content
    assert link[0].pinged_users == {discord_fake.author.id}
    await wait_state(discord_fake, status_message(discord_fake, ix), "Done")


# -- item 8: only http(s), only public addresses -------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
        "javascript:alert(1)",
        "ftp://example.com/video.mp4",
    ],
)
async def test_a_result_url_of_another_scheme_is_neither_fetched_nor_shown(
    harness_factory, url: str
) -> None:
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(result_output={"video": url}, **FAST))
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED)  # type: ignore[arg-type]
    assert h.observer.delivered == [] and h.fake.count("video") == 0
    assert failed.video_url is None and url not in (failed.error or "")
    assert [j.status for j in h.observer.ended] == [JobStatus.FAILED]


async def test_a_redirect_to_another_scheme_is_not_followed_nor_shown(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.redirects["evil"] = "file:///etc/passwd"
    h.fake.script(Timeline(result_output={"video": f"{h.fake.base_url}/r/evil"}, **FAST))
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED)  # type: ignore[arg-type]
    assert h.observer.delivered == []
    assert failed.video_url is None  # /history will not show it either


async def test_redirects_are_followed_by_hand_and_loops_end(harness_factory) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True, result_output={"video": f"{h.fake.base_url}/r/hop"}))
    job = await h.start_job()
    rid = request_id_of(h.fake)
    h.fake.redirects["hop"] = h.fake.video_url(rid)
    h.fake.set_state(rid, "completed")
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert h.observer.delivered[0][1] == FakeRunComfy.video_bytes(rid, Timeline().video_size)

    h.fake.redirects["loop"] = f"{h.fake.base_url}/r/loop"
    async with cdn_client(allow_private=True, timeout=2.0) as cdn:
        with pytest.raises(DownloadError) as caught:
            await download_to_file(cdn, h.fake.redirects["loop"], Path("unused.mp4"), max_bytes=10)
    assert caught.value.reason is DownloadProblem.UNAVAILABLE
    assert not Path("unused.mp4").exists()


async def test_private_addresses_are_refused_unless_allowed(harness_factory) -> None:
    h: Harness = await harness_factory(allow_private_urls=False, job_timeout_seconds=600)
    h.fake.script(Timeline(**FAST))
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED)  # type: ignore[arg-type]
    assert h.fake.count("video") == 0 and h.observer.delivered == []  # no fetch, no link
    assert failed.video_url is None


async def test_videos_reuse_the_connection_to_their_cdn(harness_factory) -> None:
    # A connection (and in production a TLS handshake) per video was lag at every delivery.
    h: Harness = await harness_factory()
    h.fake.script(Timeline(**FAST))
    for _ in range(3):
        job = await h.start_job()
        await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    peers = {r.peer for r in h.fake.requests if r.endpoint == "video"}
    assert h.fake.count("video") == 3 and len(peers) == 1


async def test_a_pooled_cdn_connection_serves_only_its_own_name(
    harness_factory, tmp_path: Path
) -> None:
    # Same address, two names: with TLS, each name's certificate must be checked on its own.
    h: Harness = await harness_factory()
    h.fake.script(Timeline(manual=True))
    job = await h.start_job()
    rid = request_id_of(h.fake)
    h.fake.set_state(rid, "completed")
    await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    port = h.fake.base_url.rsplit(":", 1)[1]
    hosts = ["localhost", "127.0.0.1", "localhost"]
    async with cdn_client(allow_private=True, timeout=2.0) as cdn:
        for host in hosts:
            url = f"http://{host}:{port}/videos/{rid}.mp4"
            await download_to_file(cdn, url, tmp_path / "v.mp4", max_bytes=10**6)
    asked = [r for r in h.fake.requests if r.endpoint == "video"][-3:]
    assert [r.headers["Host"].split(":")[0] for r in asked] == hosts
    assert asked[0].peer == asked[2].peer != asked[1].peer


async def test_a_host_name_is_resolved_checked_and_connected_to_as_checked(
    runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    runcomfy_fake.script(Timeline(manual=True))
    async with httpx.AsyncClient(base_url=runcomfy_fake.base_url) as api:
        answer = await api.post(
            f"/v1/models/{runcomfy_fake.model_id}",
            json={"prompt": "p", "first_frame_image_url": "https://x.example/a.png"},
            headers={"Authorization": f"Bearer {runcomfy_fake.token}"},
        )
    rid = answer.json()["request_id"]
    port = runcomfy_fake.base_url.rsplit(":", 1)[1]
    url = f"http://localhost:{port}/videos/{rid}.mp4"
    async with cdn_client(allow_private=False, timeout=2.0) as cdn:
        with pytest.raises(DownloadError) as refused:
            await download_to_file(cdn, url, tmp_path / "a.mp4", max_bytes=10**6)
        assert refused.value.reason is DownloadProblem.REFUSED
        assert runcomfy_fake.count("video") == 0  # refused before any connection
    async with cdn_client(allow_private=True, timeout=2.0) as cdn:
        size = await download_to_file(cdn, url, tmp_path / "b.mp4", max_bytes=10**6)
    assert size == Timeline().video_size
    (request,) = [r for r in runcomfy_fake.requests if r.endpoint == "video"]
    assert request.headers["Host"] == f"localhost:{port}"  # the name, at the checked address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_a_refused_url_is_never_shown_in_discord(
    bot: object, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.script(
        Timeline(result_output={"video": "file:///etc/passwd"}, queue_seconds=0.1, run_seconds=0.1)
    )
    ix = await discord_fake.invoke("animate", image=png(), prompt="p")
    await discord_fake.wait_for(lambda: ix.original_id)
    status = status_message(discord_fake, ix)
    await wait_state(discord_fake, status, "Failed")
    told = await discord_fake.wait_for(
        lambda: [m for m in discord_fake.channel_messages() if "could not be made" in m.content]
    )
    assert told[0].pinged_users == {discord_fake.author.id}
    assert all("file:" not in m.content for m in discord_fake.channel_messages())
    assert "file:" not in state_of(status)


# -- item 9: finished jobs leave nothing in memory ----------------------------------


async def test_finished_jobs_leave_no_per_job_state(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_concurrent=20, quota_user_daily=50)
    runcomfy_fake.script(
        *[Timeline(queue_seconds=0.05, run_seconds=0.05) for _ in range(4)],
        Timeline(queue_seconds=0.05, run_seconds=0.05, outcome="failed"),
        Timeline(queue_seconds=0.05, run_seconds=0.05, video_status=404),
        Timeline(manual=True),  # cancelled at the video service
        Timeline(manual=True),  # its status message deleted: the edit fails
    )
    interactions = [
        await discord_fake.invoke("animate", image=png(), prompt=f"job {i}") for i in range(8)
    ]
    await discord_fake.wait_for(lambda: len(runcomfy_fake.jobs) == 8, within=15)
    *_, cancelled, deleted = list(runcomfy_fake.jobs)
    runcomfy_fake.set_state(cancelled, "cancelled")
    discord_fake.delete(status_message(discord_fake, interactions[-1]))
    runcomfy_fake.set_state(deleted, "completed")

    async def all_final() -> bool:
        jobs = await bot.jobs.store.list_for_user(discord_fake.author.id)
        return len(jobs) == 8 and all(j.status.is_final for j in jobs)

    for _ in range(300):  # bounded: 15 s
        if await all_final():
            break
        await asyncio.sleep(0.05)
    assert await all_final()
    board = bot.get_cog("Animate").board  # type: ignore[union-attr]
    await discord_fake.wait_for(lambda: board.live_entries() == 0, within=5)
    assert board.sessions == {} and board.unreachable == set()
    # Nor files: the videos posted (and the one that could not be fetched) are gone.
    scratch = bot.jobs.poster._scratch
    assert scratch is not None and list(scratch.iterdir()) == []


async def scratch_after_one_video(h: Harness, more: int = 0) -> Path:
    """The poster's scratch directory once a first video is delivered (`more` scripted after)."""
    h.fake.script(*[Timeline(**FAST) for _ in range(1 + more)])
    first = await h.start_job()
    await h.wait_status(first.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    scratch = h.service.poster._scratch
    assert scratch is not None
    return scratch


async def test_a_stop_removes_the_scratch_directory_of_the_videos(harness_factory) -> None:
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h)
    assert scratch.is_dir() and list(scratch.iterdir()) == []
    await h.service.close()
    assert not scratch.exists()


async def test_a_video_that_cannot_be_written_here_is_posted_as_a_link(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # The bot's own disk fails the write (full, gone, read-only): the author still gets
    # the video, as its link, and the operator reads why in the log; the job does not
    # sit "completed" until a restart that would fail the same way.
    caplog.set_level(logging.ERROR)
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h, more=1)
    # Where the next video would be written: a link into a folder that does not exist.
    (scratch / "job-2-2.mp4").symlink_to(scratch / "gone" / "video.mp4")
    second = await h.start_job()
    assert second.id == 2
    await h.wait_status(second.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    job, video = h.observer.delivered[1]
    assert video is None and job.id == 2  # a link, not nothing
    assert any(
        "could not be written" in line for line in jobs_log(caplog, "bot.jobs", logging.ERROR)
    )


async def test_a_scratch_directory_removed_under_the_bot_is_made_again(harness_factory) -> None:
    # systemd-tmpfiles and the like clear old directories in /tmp: a bot idle for days
    # must not fail its next video for it.
    h: Harness = await harness_factory()
    scratch = await scratch_after_one_video(h, more=1)
    scratch.rmdir()
    second = await h.start_job()
    await h.wait_status(second.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert len(h.observer.delivered) == 2 and h.observer.delivered[1][1]  # the file itself


# -- item 11: a RunComfy that cannot be reached is visible to the operator ----------


async def test_an_unreachable_runcomfy_warns_per_call_and_alerts_once(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h: Harness = await harness_factory()
    await h.fake.close()  # connection refused from now on
    jobs = [await h.start_job(user_id=uid) for uid in (1, 2, 3)]

    assert [j.status for j in jobs] == [JobStatus.FAILED] * 3
    warnings = [
        r
        for r in caplog.records
        if r.name == "bot.runcomfy.client" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 3  # once per failed call, not once per retry
    errors = jobs_log(caplog, "bot.jobs", logging.ERROR)
    assert errors and all("reach" in line for line in errors)
    assert len(h.observer.alerts) == 1  # not one per job
    assert "RunComfy" in h.observer.alerts[0]
    assert all("not answering" in (j.error or "") for j in jobs)


async def test_a_render_whose_result_never_answers_ends_soon_after_it_is_done(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    # /result (polled while rendering) down, /status fine: the end is seen on /status
    # and the bounded result fetch fails the job loudly, instead of /result being
    # polled until the job timeout (30 minutes in production) with the user told nothing.
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(queue_positions=(1,), queue_seconds=0.1, run_seconds=1.0))
    job = await h.start_job()
    assert job.id is not None
    await h.wait_status(job.id, JobStatus.IN_PROGRESS)
    h.fake.inject("result", "503", times=10_000)
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=15)
    assert failed.error and "not answering" in failed.error
    assert len(h.observer.alerts) == 1


async def test_an_unreachable_result_fails_the_job_loudly(
    harness_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h: Harness = await harness_factory(job_timeout_seconds=600)
    h.fake.script(Timeline(**FAST))
    h.fake.inject("result", "503", times=1000)
    job = await h.start_job()
    failed = await h.wait_status(job.id, JobStatus.FAILED, within=10)  # type: ignore[arg-type]
    assert failed.error and "not answering" in failed.error
    assert jobs_log(caplog, "bot.jobs", logging.ERROR)
    assert len(h.observer.alerts) == 1
