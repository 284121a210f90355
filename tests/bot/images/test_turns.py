"""Whose image is read now: one at a time per user, a few at a time in all, bounded waits."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.images import ImageRejected
from bot.images.turns import ImageTurns


async def reading(turns: ImageTurns, user_id: int, order: list[str], name: str) -> None:
    async with turns.reading(user_id):
        order.append(f"{name} in")
        await asyncio.sleep(0.01)
        order.append(f"{name} out")


async def test_a_users_images_are_read_one_after_another_in_the_order_sent() -> None:
    turns, order = ImageTurns(at_once=8), []
    await asyncio.gather(*(reading(turns, 1, order, name) for name in "abc"))
    assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]


async def test_other_users_are_not_held_by_one_users_burst() -> None:
    turns, order = ImageTurns(at_once=8), []
    await asyncio.gather(
        reading(turns, 1, order, "mine 1"),
        reading(turns, 1, order, "mine 2"),
        reading(turns, 2, order, "theirs"),
    )
    # Theirs is read beside the author's first, before the author's second.
    assert order.index("theirs in") < order.index("mine 1 out") < order.index("mine 2 in")


async def test_at_most_at_once_images_are_read_in_all() -> None:
    turns = ImageTurns(at_once=2)
    inside = peak = 0

    async def one(user_id: int) -> None:
        nonlocal inside, peak
        async with turns.reading(user_id):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(one(user_id) for user_id in range(6)))
    assert peak == 2


async def test_a_turn_that_does_not_come_in_time_asks_to_try_again() -> None:
    turns = ImageTurns(turn_wait=0.05)
    async with turns.reading(1):
        with pytest.raises(ImageRejected) as refused:
            async with turns.reading(1):
                pass
    assert refused.value.code == "busy"
    async with turns.reading(1):  # the one who gave up holds nothing
        pass


async def test_a_user_is_forgotten_once_their_images_are_read() -> None:
    turns, order = ImageTurns(), []
    await asyncio.gather(*(reading(turns, user_id, order, str(user_id)) for user_id in range(50)))
    gc.collect()
    assert turns.users == 0
