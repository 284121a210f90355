"""A model RunComfy calls missing at start is looked at twice, whatever the start's
deadline per model: its second look is not cut short into "RunComfy is down", which
would put the retired model back on offer from its copy."""

from __future__ import annotations

import pytest

from bot.models.registry import ModelState, NoModel
from tests.bot.models.conftest import Build
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15


async def test_a_retired_model_is_retired_at_a_start_with_a_short_deadline(
    fake: FakeRunComfy, models_for: Build
) -> None:
    await models_for(SEEDANCE_15).load()  # leaves a copy
    fake.model_retired = True
    # HTTP_TIMEOUT_SECONDS of 1 s, against the 2 s between the two looks.
    gone = models_for(SEEDANCE_15, start_confirm_seconds=2.0)
    await gone.load(each_within=1.0)
    assert gone.entry(SEEDANCE_15).state is ModelState.RETIRED  # type: ignore[union-attr]
    assert gone.available() == []


async def test_a_model_missing_then_silent_at_start_is_not_offered_from_its_copy(
    fake: FakeRunComfy, models_for: Build
) -> None:
    await models_for(SEEDANCE_15).load()
    fake.inject("model", "missing")  # the first look: 404
    fake.inject("model", "slow", delay=5.0)  # the second: no answer before the deadline
    models = models_for(SEEDANCE_15, start_confirm_seconds=0.01)
    with pytest.raises(NoModel):  # its only model: the start says so, in one line
        await models.load(each_within=0.5)
    assert models.available() == []  # not "down": a 404 is never served from the copy
    assert models.entry(SEEDANCE_15).state is ModelState.UNKNOWN  # type: ignore[union-attr]
