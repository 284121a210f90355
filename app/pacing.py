"""Pacing bot-token REST requests where Discord counts them: on the wire."""

from __future__ import annotations

import aiohttp

from bot.metrics import Metrics
from bot.ratelimit import RateBudget

# Discord allows 50 requests/s per bot token; interaction and webhook routes are exempt.
# Paced where Discord counts them, on the wire, with room for the burst.
BOT_REQUESTS_PER_SECOND = 40.0
BOT_REQUESTS_BURST = 5
EXEMPT_ROUTES = ("/interactions/", "/webhooks/")


def _route_kind(path: str) -> str | None:
    """`bot_token` (counted by Discord's global limit), `interaction`, or None (not REST)."""
    if "/api/" not in path:
        return None
    return "interaction" if any(route in path for route in EXEMPT_ROUTES) else "bot_token"


def _posts_a_message(method: str, path: str) -> bool:
    """A new message (a video, a reply the author waits for), not an edit or a reaction."""
    return method == "POST" and path.endswith("/messages")


def paced_bot_token_requests(
    budget: RateBudget, metrics: Metrics | None = None
) -> aiohttp.TraceConfig:
    """An aiohttp trace that holds each bot-token REST request until the budget allows it.

    Pacing here rather than before each call: discord.py queues requests per route
    bucket, and a queue that drains at once would send a burst the budget never saw.
    It also counts every REST request and every 429 for the metrics, on the wire,
    so discord.py's own retries are counted too. New messages (deliveries) go in the
    budget's urgent lane: at 1,000 jobs the ❌ reactions taken back as renders start
    share the 40/s with the videos being posted, and must not delay them.
    """

    async def on_request_start(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if _route_kind(params.url.path) == "bot_token":
            await budget.acquire(urgent=_posts_a_message(params.method, params.url.path))

    def count(path: str, status: int | None, scope: str | None = None) -> None:
        """A Discord request for the metrics; `status` None when no answer came."""
        kind = _route_kind(path)
        if kind is not None and metrics is not None:
            metrics.discord_request(kind, status, scope)

    async def on_request_end(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        count(params.url.path, response.status, response.headers.get("X-RateLimit-Scope"))

    async def on_request_exception(
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        count(params.url.path, None)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_request_end)
    trace.on_request_exception.append(on_request_exception)
    return trace
