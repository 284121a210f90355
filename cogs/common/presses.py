"""One press, one job: a ledger of the presses that already started billed work.

Discord can deliver two interactions for the same button before the edit that
disables it lands (a double click, two devices, a stale copy of the message), so
disabling is not enough: every button that starts a billed job claims its press
here first, keyed by the message (and whatever the message offers to start).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import discord
from discord import app_commands

# Enough for every view alive at once (they time out after minutes); oldest go first.
MAX_PRESSES = 10_000
# Discord's answer to a second answer to one interaction.
ALREADY_ACKNOWLEDGED = 40060


def answered_elsewhere(error: BaseException) -> bool:
    """Another process on the same shard answered this interaction first (the deploy
    without downtime of docs/postgresql.md runs every shard twice): nothing to do here,
    and nothing to tell its author."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    return isinstance(error, discord.HTTPException) and error.code == ALREADY_ACKNOWLEDGED


class PressLedger:
    def __init__(self, capacity: int = MAX_PRESSES) -> None:
        self._claimed: OrderedDict[Hashable, None] = OrderedDict()
        self._capacity = capacity

    def claim(self, key: Hashable) -> bool:
        """True for the first press of `key`; False for every later one.

        No await between the check and the record: two interactions handled
        concurrently on the event loop cannot both get True.
        """
        if key in self._claimed:
            return False
        self._claimed[key] = None
        while len(self._claimed) > self._capacity:
            self._claimed.popitem(last=False)
        return True

    def release(self, key: Hashable) -> None:
        """The press started nothing after all (e.g. a quota refused it): allow another."""
        self._claimed.pop(key, None)

    def claimed(self, key: Hashable) -> bool:
        return key in self._claimed

    def __len__(self) -> int:
        return len(self._claimed)
