"""A fake Discord with outages: the edges of starting and stopping the bot process."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.discord import FakeDiscord


def hang_up(request: web.Request) -> web.Response:
    """No answer at all: the client sees its connection closed, as when a network drops it."""
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=503)  # never reaches the client


class DiscordWithOutages(FakeDiscord):
    """The fake Discord, with two outages a test switches on.

    `login_hangs`: the login (`GET /users/@me`) is never answered, until the test ends.
    `gateway_gone`: the gateway hangs up on everyone, both where the bot asks for it
    right after the login (`GET /gateway/bot`) and at the websocket (every reconnect).
    """

    def __init__(self) -> None:
        super().__init__()
        self.login_hangs = False
        self.gateway_gone = False
        self._outage_over = asyncio.Event()

    def end_outages(self) -> None:
        self.login_hangs = self.gateway_gone = False
        self._outage_over.set()

    async def _get_me(self, request: web.Request, *args: Any) -> Any:
        if self.login_hangs:
            await self._outage_over.wait()
        return await super()._get_me(request, *args)

    async def _gateway(self, request: web.Request) -> Any:
        if self.gateway_gone:
            return hang_up(request)
        return await super()._gateway(request)

    async def _get_gateway(self, request: web.Request, *args: Any) -> Any:
        if self.gateway_gone:
            return hang_up(request)
        return await super()._get_gateway(request, *args)


@pytest.fixture
async def discord_with_outages() -> AsyncIterator[DiscordWithOutages]:
    fake = DiscordWithOutages()
    await fake.start()
    yield fake
    fake.end_outages()  # a request still held ends now, so the server closes at once
    await fake.close()
    assert not fake.unhandled, f"unhandled Discord routes: {fake.unhandled}"


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A loopback address whose connections are never accepted, as behind a firewall that
    drops packets: its listener never accepts and its queue is full, so the kernel drops
    every new SYN and a client's connect waits out its own timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        address = server.getsockname()
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(address)
        time.sleep(0.2)  # the handshakes that fit are done; later SYNs are dropped
        try:
            yield f"http://127.0.0.1:{address[1]}"
        finally:
            for filler in fillers:
                filler.close()
