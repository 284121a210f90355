"""Delivery fetches only http(s), only public addresses (issue 12, item 8)."""

from __future__ import annotations

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
from tests.bot.jobs.harness import Harness
from tests.cogs.animate.helpers import (
    FAST,
    png,
    request_id_of,
    state_of,
    status_message,
    wait_state,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy, Timeline


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
        "javascript:alert(1)",
        "ftp://example.com/video.mp4",
        # What a public link message would have shown as the bot's own words.
        "http://127.0.0.1:9/video.mp4\n# 🎁 **FREE NITRO** https://scam.example",
        "http://127.0.0.1:9/video.mp4 @here",
    ],
)
async def test_a_result_url_of_another_scheme_or_with_spaces_is_neither_fetched_nor_shown(
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
