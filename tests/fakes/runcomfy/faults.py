"""The faults the fake RunComfy injects: throttling, server errors, nonsense answers, drops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

HTML_PAGE = "<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>"


@dataclass
class Fault:
    kind: str
    remaining: int
    retry_after: float | None
    delay: float
    payload: Any = None  # what an "answer" fault answers (200, JSON)


def api_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"error_code": code, "error_message": message}, status=status)


async def apply_fault(
    fault: Fault, request: web.Request, handler: Any
) -> web.StreamResponse | None:
    kind = fault.kind
    if kind == "429":
        headers = {"Retry-After": str(fault.retry_after if fault.retry_after else 1)}
        return web.json_response(
            {"error_code": 429001, "error_message": "Too many requests"},
            status=429,
            headers=headers,
        )
    if kind in ("500", "502", "503"):
        return api_error(int(kind), 500001, "Internal error")
    if kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if kind == "malformed":
        return web.Response(status=200, text="{not json", content_type="application/json")
    if kind == "html":  # a proxy's or a login page, with a 200
        return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
    if kind == "answer":
        return web.json_response(fault.payload)
    if kind == "error_200":
        return web.json_response({"error_code": 500001, "error_message": "Internal error"})
    if kind == "reset":
        assert request.transport is not None
        request.transport.close()
        # Let the client see the closed connection, then end this handler.
        raise asyncio.CancelledError
    if kind == "submit_500_after_create":
        await handler(request)  # the job exists now...
        return api_error(500, 500001, "Internal error")  # ...but the answer says otherwise
    if kind == "submit_202_after_create":
        await handler(request)  # the job exists now, but the answer has no request id
        return web.json_response({"status": "accepted"}, status=202)
    if kind == "balance":
        return api_error(402, 400002, "Insufficient account balance")
    if kind == "token":
        return api_error(401, 400004, "Invalid or expired API token")
    if kind == "expired":
        return api_error(404, 404001, "Request not found or expired")
    if kind == "missing":  # a model RunComfy does not know (or a one-off 404)
        return api_error(404, 400001, "Invalid model id")
    raise ValueError(f"unknown fault {kind!r}")
