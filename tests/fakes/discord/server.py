"""FakeDiscord: the parts assembled, its life cycle, and the REST plumbing and routing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.discord.actors import ActorsMixin
from tests.fakes.discord.channels import ChannelsMixin
from tests.fakes.discord.faults import FaultsMixin
from tests.fakes.discord.forms import _form_parts
from tests.fakes.discord.interactions import InteractionsMixin
from tests.fakes.discord.reading import ReadingMixin
from tests.fakes.discord.records import Recorded
from tests.fakes.discord.wire import API, DiscordError, _json

_CHANNEL_POST = re.compile(r"/channels/(?P<cid>\d+)/messages")
_FOLLOWUP_POST = re.compile(r"/webhooks/\d+/[^/]+")


def _bot_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme == "Bot" else None


class FakeDiscord(ActorsMixin, InteractionsMixin, ChannelsMixin, FaultsMixin, ReadingMixin):
    """The server, its state, and the test's handles on both."""

    # -- life cycle --------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware], client_max_size=512 * 1024 * 1024)
        app.add_routes(
            [
                web.get("/gateway", self._gateway),
                web.get("/cdn/attachments/{id}/{filename}", self._cdn),
                web.route("*", API + "/{tail:.*}", self._rest),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self.base_url

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- REST plumbing -----------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        record = Recorded(request.method, request.path, time.monotonic(), None)
        self.requests.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            response = await handler(request)
        except DiscordError as exc:
            response = _json({"message": exc.message, "code": exc.code}, status=exc.status)
        record.status = response.status
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment = self.attachments.get(int(request.match_info["id"]))
        if attachment is None:
            return web.Response(status=404)
        self.cdn_in_flight += 1
        self.cdn_peak_in_flight = max(self.cdn_peak_in_flight, self.cdn_in_flight)
        try:
            if self.cdn_latency:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cdn_released.wait(), self.cdn_latency)
        finally:
            self.cdn_in_flight -= 1
        return web.Response(
            body=attachment.data, content_type=attachment.content_type or "application/octet-stream"
        )

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API) :]
        limited = self._take_rate_limit(path)
        if limited is not None:
            await request.read()  # as Discord does: an upload is taken, then refused
            return limited
        posted_in = _CHANNEL_POST.fullmatch(path) if request.method == "POST" else None
        if (
            self.drop_next_posts
            and request.method == "POST"
            and (posted_in or _FOLLOWUP_POST.fullmatch(path))
        ):
            self.drop_next_posts -= 1
            assert request.transport is not None
            request.transport.close()  # no answer at all: a reset connection
            return web.Response(status=500)  # never reaches the client
        if (
            self.garble_next_posts
            and request.method == "POST"
            and (posted_in or _FOLLOWUP_POST.fullmatch(path))
        ):
            self.garble_next_posts -= 1
            await request.read()
            return web.Response(status=200, text="<html>upstream hiccup</html>")
        cid = posted_in["cid"] if posted_in else None
        window = self._channel_window(cid) if cid else None
        if window is not None and window[0] <= 0:
            return self._channel_limited(window[1])
        response = await self._route(request, path)
        if (
            self.lose_next_answers
            and request.method == "POST"
            and (posted_in or _FOLLOWUP_POST.fullmatch(path))
        ):
            self.lose_next_answers -= 1
            assert request.transport is not None
            request.transport.close()  # posted, but the client never hears so
            return response
        if cid and window is not None and self.channel_post_limit is not None:
            self._channel_posts[cid].append(time.monotonic())
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(self.channel_post_limit[0]),
                    "X-RateLimit-Remaining": str(window[0] - 1),
                    "X-RateLimit-Reset-After": f"{window[1]:.3f}",
                    "X-RateLimit-Bucket": f"channel-{cid}",
                }
            )
        return response

    def _channel_window(self, channel_id: str) -> tuple[int, float] | None:
        """Messages the channel still takes in its window, and when the window resets."""
        if self.channel_post_limit is None:
            return None
        limit, seconds = self.channel_post_limit
        now = time.monotonic()
        posts = self._channel_posts.setdefault(channel_id, deque())
        while posts and posts[0] <= now - seconds:
            posts.popleft()
        reset = posts[0] + seconds - now if posts else seconds
        return limit - len(posts), reset

    def _channel_limited(self, reset_after: float) -> web.Response:
        assert self.channel_post_limit is not None
        headers = {
            "Via": "1.1 google",
            "Retry-After": f"{reset_after:.3f}",
            "X-RateLimit-Scope": "user",
            "X-RateLimit-Limit": str(self.channel_post_limit[0]),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        body = {"message": "You are being rate limited.", "retry_after": reset_after}
        return _json({**body, "global": False}, status=429, headers=headers)

    async def _route(self, request: web.Request, path: str) -> web.StreamResponse:
        bot_token_route = not path.startswith(("/interactions/", "/webhooks/"))
        if bot_token_route and self.token not in (None, _bot_token(request)):
            raise DiscordError(401, 0, "401: Unauthorized")
        body, files = await self._read_body(request)
        self.requests[-1].json = body
        for pattern, method, handler in self._routes():
            match = pattern.fullmatch(path)
            if match and method == request.method:
                result = await handler(request, body, files, **match.groupdict())
                if isinstance(result, web.StreamResponse):
                    return result
                return _json(result) if result is not None else web.Response(status=204)
        self.unhandled.append(f"{request.method} {path}")
        raise DiscordError(404, 0, "404: Not Found")

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., Any]]]:
        s = r"(?P<{}>\d+)"
        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("/gateway/bot", "GET", self._get_gateway),
            ("/users/@me", "GET", self._get_me),
            ("/oauth2/applications/@me", "GET", self._get_application),
            (f"/applications/{s.format('app')}/commands", "PUT", self._put_commands),
            (
                f"/applications/{s.format('app')}/guilds/{s.format('guild')}/commands",
                "PUT",
                self._put_commands,
            ),
            (f"/interactions/{s.format('iid')}/(?P<token>[^/]+)/callback", "POST", self._callback),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "PATCH",
                self._webhook_edit,
            ),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "GET",
                self._webhook_get,
            ),
            (
                f"/webhooks/{s.format('app')}/(?P<token>[^/]+)/messages/(?P<mid>@original|\\d+)",
                "DELETE",
                self._webhook_delete,
            ),
            (f"/webhooks/{s.format('app')}/(?P<token>[^/]+)", "POST", self._followup),
            (f"/channels/{s.format('cid')}", "GET", self._get_channel),
            (f"/channels/{s.format('cid')}/messages", "POST", self._channel_send),
            (f"/channels/{s.format('cid')}/messages/{s.format('mid')}", "GET", self._channel_get),
            (f"/channels/{s.format('cid')}/messages", "GET", self._channel_history),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}",
                "PATCH",
                self._channel_edit,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}",
                "DELETE",
                self._channel_delete,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}/reactions/(?P<emoji>[^/]+)/"
                "(?P<who>@me|\\d+)",
                "PUT",
                self._react,
            ),
            (
                f"/channels/{s.format('cid')}/messages/{s.format('mid')}/reactions/(?P<emoji>[^/]+)/"
                "(?P<who>@me|\\d+)",
                "DELETE",
                self._unreact,
            ),
            ("/users/@me/channels", "POST", self._open_dm),
            (f"/users/{s.format('uid')}", "GET", self._get_user),
            (f"/guilds/{s.format('gid')}", "GET", self._get_guild),
            (f"/guilds/{s.format('gid')}/members/{s.format('uid')}", "GET", self._get_member),
        ]
        return [(re.compile(p), m, h) for p, m, h in table]

    async def _read_body(
        self, request: web.Request
    ) -> tuple[dict[str, Any] | None, list[tuple[str, bytes, str | None]]]:
        if not request.can_read_body:
            return None, []
        raw = await request.read()
        content_type = request.headers.get(aiohttp.hdrs.CONTENT_TYPE, "")
        if content_type.lower().startswith("multipart/"):
            return _form_parts(raw, content_type)
        return (json.loads(raw) if raw else None), []

    def _take_rate_limit(self, path: str) -> web.Response | None:
        for limit in self._rate_limits:
            if limit.path_contains in path:
                self._rate_limits.remove(limit)
                headers = {
                    # discord.py only retries a 429 that came through Discord's proxy.
                    "Via": "1.1 google",
                    "Retry-After": str(limit.retry_after),
                    "X-RateLimit-Scope": "global" if limit.is_global else "user",
                }
                if limit.is_global:
                    headers["X-RateLimit-Global"] = "true"
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": limit.retry_after,
                        "global": limit.is_global,
                    },
                    status=429,
                    headers=headers,
                )
        return None
