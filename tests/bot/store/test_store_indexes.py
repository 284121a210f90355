"""The store's indexes: hot queries use them, and their WHERE agrees with the models."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable

import pytest

from bot.domain import FINAL_STATUSES, JobStatus, is_charged
from bot.store import JobStore, QuotaLimits, migrations
from bot.store.schema import ACTIVE_SQL, CHARGED_SQL, FINISHED_SQL, SHOWN_SQL
from tests.bot.store.helpers import S, new_job, plans_of
from tests.models import job_fields
from tests.stores import count_created_since, find_by_request_id, oldest_created_since


async def test_hot_queries_use_indexes_not_scans(sqlite_store: JobStore) -> None:
    store = sqlite_store
    for i in range(20):
        await store.create(
            new_job(user_id=i % 3, created_at=float(i), status=list(JobStatus)[i % 9])
        )
    job = await store.create(new_job(status_message_id=77, request_id="r-77"))
    assert job.id is not None
    calls: dict[str, Awaitable[object]] = {
        "history": store.list_for_user(1, limit=10, offset=10),
        "history by status": store.list_for_user(1, statuses=[S.DELIVERED, S.FAILED]),
        "active": store.active_jobs(),
        "count active": store.count_active(),
        "count active of a user": store.count_active(1),
        "count for user": store.count_for_user(1),
        "daily quota": count_created_since(store, 1, 5.0),
        "quota frees up": oldest_created_since(store, 1, 5.0),
        "quota in one query": store.quota_usage(1, since=5.0),
        "admission in one statement": store.create_within(
            new_job(created_at=60.0),
            QuotaLimits(user_concurrent=5, user_daily=20, global_concurrent=50, since=5.0),
        ),
        "eta": store.recent_durations(kind=job_fields(generate_audio=True)["kind"]),
        "render times": store.recent_durations(
            kind=job_fields(generate_audio=False)["kind"], from_start=True
        ),
        "learned prices": store.recent_costs(job_fields()["kind"], limit=10),
        "operator's daily spend": store.spend_since(5.0),
        "get": store.get(job.id),
        "by request": find_by_request_id(store, "r-77"),
        "by status message": store.find_by_status_message(77),
        "transition": store.transition(job.id, from_statuses=[S.SUBMITTING], to=S.IN_QUEUE),
        "update": store.update(job.id, queue_position=2),
        "clear for user": store.clear_for_user(2, now=50.0),
        "count clearable": store.count_clearable(2),
        "get shown": store.get_shown(job.id),
    }
    for name, call in calls.items():
        plans = await plans_of(store, call)
        assert plans, name
        for sql, plan in plans:
            context = (name, sql, plan)
            # "SCAN jobs" alone is a full table scan; a temp B-tree is a sort.
            assert re.search(r"(SEARCH|SCAN) jobs USING|INTEGER PRIMARY KEY", plan), context
            assert not re.search(r"SCAN jobs($| \|)", plan), context
            assert "TEMP B-TREE" not in plan, context


def index_sql(dialect: str, name: str) -> str:
    """The statement creating index `name` (its last version), whitespace folded."""
    made = [
        sql
        for step in migrations.steps(dialect)
        for sql in step.statements
        if f"INDEX {name} ON" in " ".join(sql.split())
    ]
    assert made, (dialect, name)
    return " ".join(made[-1].split())


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_active_predicate_matches_the_models(dialect: str) -> None:
    """The partial index's WHERE is frozen in migration 1; FINAL_STATUSES must agree."""
    assert set(re.findall(r"'(\w+)'", ACTIVE_SQL)) == {str(s) for s in FINAL_STATUSES}
    assert ACTIVE_SQL in index_sql(dialect, "jobs_active")
    assert ACTIVE_SQL in index_sql(dialect, "jobs_active_by_user")


def test_charged_predicate_matches_the_model_and_its_index() -> None:
    """`CHARGED_SQL` is `is_charged` in SQL, and the `jobs_charged` index's WHERE."""
    with sqlite3.connect(":memory:") as db:
        for status in JobStatus:
            for request_id in (None, "r-1"):
                (got,) = db.execute(
                    f"SELECT {CHARGED_SQL} FROM (SELECT ? AS status, ? AS request_id)",
                    (str(status), request_id),
                ).fetchone()
                assert bool(got) is is_charged(status, request_id), (status, request_id)
    for dialect in ("sqlite", "postgres"):
        assert CHARGED_SQL in index_sql(dialect, "jobs_charged")
        assert SHOWN_SQL in index_sql(dialect, "jobs_history")
        for kind in ("jobs_by_kind_started", "jobs_by_kind_submitted"):
            assert FINISHED_SQL in index_sql(dialect, kind)
