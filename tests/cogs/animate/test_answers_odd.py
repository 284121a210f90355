"""/status and /result answering in shapes the contract does not give: times as numbers
or objects, the request's id as a number. The video RunComfy made (and billed) reaches its
author all the same; nothing is sent twice."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import JobStatus
from tests.bot.jobs.harness import Harness
from tests.cogs.animate.helpers import FAST
from tests.fakes.runcomfy import Timeline


@pytest.mark.parametrize(
    "fields",
    [
        {"created_at": 1764028800, "finished_at": 1764028860.5},
        {"created_at": {"seconds": 1764028800}, "finished_at": None},
        {"request_id": 12345},
    ],
    ids=["times-as-numbers", "times-as-objects", "request-id-a-number"],
)
async def test_a_made_video_is_delivered_whatever_shape_its_answers_take(
    harness_factory: Any, fields: dict[str, Any]
) -> None:
    h: Harness = await harness_factory()
    h.fake.script(Timeline(answer_fields=fields, **FAST))
    job = await h.start_job()
    done = await h.wait_status(job.id, JobStatus.DELIVERED)  # type: ignore[arg-type]
    assert done.cost is not None
    assert h.fake.count("submit") == 1
