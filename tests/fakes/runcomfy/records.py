"""What the fake RunComfy records of each request, and which of its calls a request is."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Endpoint = Literal["submit", "status", "result", "cancel", "video", "model"]


@dataclass
class Recorded:
    method: str
    path: str
    endpoint: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection


def endpoint_of(request: web.Request) -> str:
    path = request.path
    if path.startswith("/v1/models/"):
        return "submit" if request.method == "POST" else "model"
    if path.startswith(("/videos/", "/r/")):
        return "video"
    for name in ("status", "result", "cancel"):
        if path.endswith(f"/{name}"):
            return name
    return "other"
