"""Jobs to columns and back, the columns `update` may name (the whitelist), and `Params`.

The only names spliced into SQL text are these columns, never input.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from bot.domain import ImageFacts, Job, JobStatus
from bot.store.database import Row
from bot.store.schema import SHOWN_SQL

PLAIN_FIELDS = (
    "user_id",
    "guild_id",
    "channel_id",
    "status_message_id",
    "request_id",
    "status",
    "prompt",
    "image_url",
    "queue_position",
    "error",
    "video_url",
    "video_bytes",
    "posted_video_bytes",
    "extended_at",
    "extends_job_id",
    "cost",
    "delivered_channel_id",
    "delivered_message_id",
    "created_at",
    "submitted_at",
    "started_at",
    "finished_at",
    "delivered_at",
    "locale",
    "model_id",
    "kind",
    "estimate_usd",
    "reach",
    "visibility",
    "upload_limit",
    "shared_at",
)
# Fields kept as JSON text, and their columns.
JSON_FIELDS = {"options": "options_json", "body": "body_json"}
# What `update` may change: every Job field but the id.
UPDATABLE = frozenset({*PLAIN_FIELDS, *JSON_FIELDS, "image"})


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    annotation = Job.model_fields[name].annotation
    assert annotation is not None, name
    return TypeAdapter(annotation)


def validated(name: str, value: object) -> Any:
    """The value as the Job field `name` would hold it; ValueError if it cannot."""
    try:
        return _adapter(name).validate_python(value)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise ValueError(f"bad value for job field {name!r}: {exc}") from None


class Params:
    """The values of a statement built in pieces: each call adds one and gives its `$n`."""

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def many(self, values: Iterable[Any]) -> str:
        """`$n, $n+1, …`, one per value."""
        return ", ".join(self(value) for value in values)


def user_filter(user_id: int, statuses: Collection[JobStatus] | None, p: Params) -> str:
    """The user's jobs as /history shows them: cleared ones are left out."""
    if statuses is None:
        return f"user_id = {p(user_id)} AND {SHOWN_SQL}"
    if not statuses:
        return "1 = 0"  # no status asked for: nothing matches
    values = [str(validated("status", s)) for s in statuses]
    return f"user_id = {p(user_id)} AND {SHOWN_SQL} AND status IN ({p.many(values)})"


def set_clause(fields: dict[str, object], p: Params) -> str:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"not job fields: {sorted(unknown)}")
    columns: dict[str, Any] = {}
    for name, raw in fields.items():
        value = validated(name, raw)
        if name in JSON_FIELDS:
            columns[JSON_FIELDS[name]] = None if value is None else json.dumps(value)
        elif name == "image":
            columns["image_json"] = value.model_dump_json()
        else:
            columns[name] = to_sql(value)
    # Column names come from the whitelist above, never from input.
    return ", ".join(f"{name} = {p(value)}" for name, value in columns.items())


def to_sql(value: Any) -> Any:
    return str(value) if isinstance(value, StrEnum) else value


def to_columns(job: Job) -> dict[str, Any]:
    columns = {name: to_sql(getattr(job, name)) for name in PLAIN_FIELDS}
    for name, column in JSON_FIELDS.items():
        value = getattr(job, name)
        columns[column] = None if value is None else json.dumps(value)
    columns["image_json"] = job.image.model_dump_json()
    if job.id is not None:
        columns["id"] = job.id
    return columns


def from_row(row: Row) -> Job:
    data: dict[str, Any] = {name: row[name] for name in PLAIN_FIELDS}
    data["id"] = row["id"]
    for name, column in JSON_FIELDS.items():
        text = row[column]
        data[name] = None if text is None else json.loads(text)
    data["image"] = ImageFacts.model_validate_json(row["image_json"])
    return Job.model_validate(data)
