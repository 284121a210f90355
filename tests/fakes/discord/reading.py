"""Reading what users see: channels, DMs, pings, and the requests the bot made."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from tests.fakes.discord.records import FakeMessage, FakeUser
from tests.fakes.discord.state import DiscordState


class ReadingMixin(DiscordState):
    async def wait_for(self, predicate: Callable[[], Any], *, within: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy, waking on every request the fake serves.

        It also looks again every 50 ms, for predicates on the bot's own state. The
        default leaves a loaded CI machine (four test workers on two cores) room to spare.
        """

        async def wait() -> Any:
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        return await asyncio.wait_for(wait(), within)

    def channel_messages(self, channel_id: int | None = None) -> list[FakeMessage]:
        channel_id = channel_id or self.general
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and not m.ephemeral
        ]

    def visible_to(self, user: FakeUser) -> list[FakeMessage]:
        """Every live message the user can see: public ones and their own ephemeral ones."""
        own = {
            mid
            for i in self.interactions.values()
            if i.user.id == user.id
            for mid in [i.original_id, *i.followup_ids]
            if mid
        }
        return [
            m for m in self.messages.values() if not m.deleted and (not m.ephemeral or m.id in own)
        ]

    def dms(self, user: FakeUser) -> list[FakeMessage]:
        channel_id = self.dm_channels.get(user.id)
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def pinged(self) -> dict[int, set[int]]:
        """Message id -> users it notified (everyone/roles expanded to all members)."""
        result: dict[int, set[int]] = {}
        members = {u.id for u in self.users.values() if not u.bot}
        for message in self.messages.values():
            users = set(message.pinged_users)
            if message.pinged_everyone:
                users |= members
            for role in message.pinged_roles:
                users |= {u.id for u in self.users.values() if role in u.roles}
            if users:
                result[message.id] = users
        return result

    def count(self, method: str, path_contains: str) -> int:
        return sum(1 for r in self.requests if r.method == method and path_contains in r.path)

    def peak_requests_per_second(self) -> int:
        """The most REST requests served in any one-second window."""
        return int(peak_per_second([r.at for r in self.requests]))

    def reset(self) -> None:
        self.messages.clear()
        self.interactions.clear()
        self.requests.clear()
        self.unhandled.clear()
        self._rate_limits.clear()
        self.dm_closed.clear()
        self.cdn_latency = 0.0
        self.cdn_peak_in_flight = 0


def peak_per_second(times: list[float], window: float = 1.0) -> float:
    """The most events in any `window` seconds, per second."""
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best / window
