"""The seed page's model (Seedance 1.5 pro) for tests: its options, a job's model fields.

Built from the stored schema exactly as the bot builds it (bot.models.read_model), so a
test's job is what the bot would have written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.domain import Options
from bot.models.model import VideoModel, read_model
from bot.runcomfy.wire import ModelInfo
from tests.fakes.schemas import SEEDANCE_15, seedance_15


@cache
def seedance() -> VideoModel:
    info = ModelInfo(
        model_id=SEEDANCE_15, base_price_usd=0.024, price_unit="second", input_schema=seedance_15()
    )
    return read_model(info)


def options(**picked: Any) -> Options:
    """The seed model's options with `picked` (by role or field: audio or generate_audio)."""
    return seedance().choose(picked)


def job_fields(**picked: Any) -> dict[str, Any]:
    """`model_id`, `options` and `kind` of a seed-model job, to splat into Job(...)."""
    chosen = options(**picked)
    return {"model_id": SEEDANCE_15, "options": chosen, "kind": seedance().kind(chosen)}
