"""Input schemas of RunComfy models, as `GET /v1/models/{id}` answers them.

`seedance-v1.5-pro.json` is the seed page's schema, exactly (French texts included);
`seedance-2.5.json` is shaped like Seedance 2.5's (the image in `image`, duration 4..30,
audio on by default, no ratio or resolution: the resolution is in the model's id).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SEEDANCE_15 = "bytedance/seedance-v1.5-pro/image-to-video"
SEEDANCE_25 = "bytedance/seedance-2.5/image-to-video/720p"
SEEDANCE_25_1080 = "bytedance/seedance-2.5/image-to-video/1080p"


@cache
def _load(name: str) -> str:
    return (HERE / f"{name}.json").read_text(encoding="utf-8")


def schema(name: str) -> dict[str, Any]:
    """A fresh copy of a stored schema (tests may change it)."""
    return copy.deepcopy(json.loads(_load(name)))


def seedance_15() -> dict[str, Any]:
    return schema("seedance-v1.5-pro")


def seedance_25() -> dict[str, Any]:
    return schema("seedance-2.5")
