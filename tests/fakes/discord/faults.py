"""Faults a test injects: expired tokens, 429s, stalled downloads, deleted messages."""

from __future__ import annotations

import asyncio

from tests.fakes.discord.records import FakeInteraction, FakeMessage, FakeUser
from tests.fakes.discord.state import DiscordState, _RateLimit


class FaultsMixin(DiscordState):
    def expire(self, interaction: FakeInteraction) -> None:
        """Fifteen minutes have passed: every webhook route of this token answers 401."""
        interaction.expired = True

    def deny(self, user: FakeUser, channel_id: int, bits: int) -> None:
        """A member overwrite: `user` loses `bits` in that channel (e.g. SEND_MESSAGES)."""
        key = (channel_id, user.id)
        self.channel_denies[key] = self.channel_denies.get(key, 0) | bits

    def answer_late(self, count: int = 1) -> None:
        """The next `count` interaction answers come after Discord's 3 s (a slow network)."""
        self.late_answers += count

    def rate_limit_once(
        self, path_contains: str, *, retry_after: float = 0.05, is_global: bool = False
    ) -> None:
        self._rate_limits.append(_RateLimit(path_contains, retry_after, is_global))

    def release_cdn(self) -> None:
        """Downloads stalled by `cdn_latency` end now (so a test need not wait them out)."""
        self.cdn_latency = 0.0
        self._cdn_released.set()
        self._cdn_released = asyncio.Event()

    def delete(self, message: FakeMessage) -> None:
        message.deleted = True
