"""The operator's models, read from RunComfy at start and refresh, kept between starts."""

from __future__ import annotations

import logging

import pytest

from bot.models.registry import ModelState
from tests.bot.models.conftest import Alerts, Build
from tests.fakes.runcomfy import FakeRunComfy
from tests.fakes.schemas import SEEDANCE_15, SEEDANCE_25, seedance_15, seedance_25


async def test_every_configured_model_is_read_in_the_operators_order(models_for: Build) -> None:
    models = models_for(SEEDANCE_25, SEEDANCE_15)
    await models.load()
    assert [m.model_id for m in models.available()] == [SEEDANCE_25, SEEDANCE_15]
    assert models.default is not None and models.default.model_id == SEEDANCE_25
    assert models.get(SEEDANCE_15).image_field == "first_frame_image_url"  # type: ignore[union-attr]
    assert models.get("not/configured") is None


async def test_a_start_while_runcomfy_is_down_works_from_the_last_good_copy(
    fake: FakeRunComfy, models_for: Build, caplog: pytest.LogCaptureFixture
) -> None:
    await models_for(SEEDANCE_15).load()  # the first start needs RunComfy
    fake.inject("model", "503", times=10)
    again = models_for(SEEDANCE_15, SEEDANCE_25)
    await again.load()
    entry = again.entry(SEEDANCE_15)
    assert entry is not None and entry.state is ModelState.READY and entry.from_copy
    # Never read before: no copy, so not offered until RunComfy answers.
    assert again.entry(SEEDANCE_25).state is ModelState.UNKNOWN  # type: ignore[union-attr]
    assert [m.model_id for m in again.available()] == [SEEDANCE_15]
    assert "no earlier copy" in caplog.text


async def test_a_retired_model_is_told_once_and_the_others_keep_working(
    fake: FakeRunComfy, models_for: Build
) -> None:
    alerts = Alerts()
    models = models_for(SEEDANCE_15, SEEDANCE_25, alerts=alerts, confirm_seconds=0.01)
    await models.load()
    fake.models[SEEDANCE_15].retired = True
    await models.refresh()  # a first 404: looked at again before it counts
    assert models.get(SEEDANCE_15) is not None and not alerts
    await models.refresh()
    assert models.entry(SEEDANCE_15).state is ModelState.RETIRED  # type: ignore[union-attr]
    assert [m.model_id for m in models.available()] == [SEEDANCE_25]
    await models.refresh()
    assert len(alerts) == 1 and "RUNCOMFY_MODEL_IDS" in alerts[0] and SEEDANCE_15 in alerts[0]


async def test_a_one_off_404_does_not_retire_a_model(fake: FakeRunComfy, models_for: Build) -> None:
    models = models_for(SEEDANCE_15)
    await models.load()
    fake.inject("model", "missing")
    await models.refresh()
    await models.refresh()  # the confirmation finds it
    assert models.get(SEEDANCE_15) is not None


async def test_a_404_at_start_is_confirmed_and_the_copy_of_a_retired_model_is_not_used(
    fake: FakeRunComfy, models_for: Build
) -> None:
    await models_for(SEEDANCE_15).load()  # leaves a copy
    fake.inject("model", "missing")  # one-off at start
    models = models_for(SEEDANCE_15)
    await models.load()
    assert models.get(SEEDANCE_15) is not None
    fake.model_retired = True
    gone = models_for(SEEDANCE_15)
    await gone.load()
    assert gone.entry(SEEDANCE_15).state is ModelState.RETIRED  # type: ignore[union-attr]
    assert gone.available() == []


async def test_a_changed_schema_is_followed_and_logged(
    fake: FakeRunComfy, models_for: Build, caplog: pytest.LogCaptureFixture
) -> None:
    models = models_for(SEEDANCE_25)
    await models.load()
    changed = seedance_25()
    changed["properties"]["duration"]["maximum"] = 15
    changed["properties"]["aspect_ratio"] = {
        "type": "string",
        "enum": ["16:9", "9:16"],
        "default": "16:9",
    }
    fake.host(SEEDANCE_25, changed)
    with caplog.at_level(logging.WARNING):
        await models.refresh()
    model = models.get(SEEDANCE_25)
    assert model is not None and model.option("ratio") is not None
    assert model.option("duration").maximum == 15  # type: ignore[union-attr]
    assert (
        "new option `aspect_ratio`" in caplog.text and "option `duration` now 4..15" in caplog.text
    )


async def test_a_model_whose_schema_cannot_be_used_is_not_offered(
    fake: FakeRunComfy, models_for: Build
) -> None:
    broken = seedance_15()
    del broken["properties"]["first_frame_image_url"]
    fake.host("x/text-to-video", broken)
    models = models_for("x/text-to-video", SEEDANCE_15)
    await models.load()
    entry = models.entry("x/text-to-video")
    assert entry is not None and entry.state is ModelState.UNUSABLE
    assert "input image" in entry.reasons[0]
    assert [m.model_id for m in models.available()] == [SEEDANCE_15]
