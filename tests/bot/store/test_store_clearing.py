"""Deleting and clearing jobs: only their rows go, and what quotas count stays."""

from __future__ import annotations

import json

from bot.domain import ACTIVE_STATUSES, FINAL_STATUSES, JobStatus
from bot.store import JobStore
from tests.bot.store.helpers import S, new_job, store_rows
from tests.fakes.schemas import SEEDANCE_15
from tests.models import options, seedance
from tests.stores import find_by_request_id


async def test_deletes_touch_only_their_rows(store: JobStore) -> None:
    old_final = await store.create(
        new_job(user_id=1, status=S.DELIVERED, created_at=5, delivered_at=10)
    )
    await store.create(new_job(user_id=1, status=S.IN_QUEUE, created_at=10))  # active: stays
    await store.create(new_job(user_id=2, status=S.FAILED, created_at=10, finished_at=20))
    # Created long ago, but delivered recently: not "finished before".
    await store.create(new_job(user_id=2, status=S.DELIVERED, created_at=10, delivered_at=500))
    assert await store.purge_finished_before(100) == 2
    assert old_final.id is not None and await store.get(old_final.id) is None
    assert await store.count_for_user(1) == 1 and await store.count_for_user(2) == 1
    # Delivered "before" it was created (a clock step back): not purged, since a
    # purge must never free a daily slot of a job created inside the window.
    await store.create(new_job(user_id=3, status=S.DELIVERED, created_at=500, delivered_at=50))
    assert await store.purge_finished_before(100) == 0


async def test_clear_hides_and_scrubs_finished_rows_and_keeps_what_quotas_count(
    store: JobStore,
) -> None:
    now = 1_000_000.0
    for status in JobStatus:
        await store.create(
            new_job(
                user_id=1,
                created_at=now,
                status=status,
                request_id=f"r-{status}",
                image_url="https://cdn.example/in.png",
                video_url="https://cdn.example/v.mp4",
                error="private detail",
                cost=0.12,
                estimate_usd=0.2,
                guild_id=9,
                body=seedance().body("waves", "https://cdn.example/in.png", options()),
            )
        )
    other = await store.create(new_job(user_id=2, created_at=now, status=S.DELIVERED))
    before = await store.quota_usage(1, since=now - 10)
    assert await store.count_clearable(1) == len(FINAL_STATUSES)

    assert await store.clear_for_user(1, now=now + 5) == len(FINAL_STATUSES)
    assert await store.quota_usage(1, since=now - 10) == before
    assert await store.count_clearable(1) == 0
    assert await store.clear_for_user(1, now=now + 6) == 0  # nothing left to clear
    shown = await store.list_for_user(1, limit=50)
    assert {j.status for j in shown} == set(ACTIVE_STATUSES)
    assert await store.count_for_user(1) == len(ACTIVE_STATUSES)
    assert all(j.prompt == "waves" and j.video_url for j in shown)  # active: untouched
    rows = await store_rows(
        store,
        "SELECT status, prompt, image_json, image_url, video_url, error, cost, guild_id, "
        "request_id, created_at, cleared_at, body_json, model_id, options_json, estimate_usd "
        "FROM jobs WHERE user_id = 1",
    )
    for (
        status,
        prompt,
        image,
        image_url,
        video_url,
        error,
        cost,
        guild,
        rid,
        created,
        cleared,
        body,
        model_id,
        options_json,
        estimate,
    ) in rows:
        # What spend reports and the kind of a job need stays, cleared or not.
        assert (model_id, json.loads(str(options_json)), estimate) == (SEEDANCE_15, options(), 0.2)
        if JobStatus(status).is_final:
            # The body sent holds the prompt and the image's URL: it goes too.
            assert (prompt, image_url, video_url, error, body) == ("", None, None, None, None)
            assert "a.png" not in str(image) and "800" not in str(image)
            assert (cost, guild, rid, created, cleared) == (0.12, 9, f"r-{status}", now, now + 5)
            job = await find_by_request_id(store, rid)
            assert job is not None and job.id is not None
            assert await store.get_shown(job.id) is None
        else:
            assert cleared is None and prompt == "waves" and "waves" in str(body)
    assert other.id is not None and await store.get_shown(other.id) is not None
