"""/animate and everything Discord shows of a job.

- `cog`: the command, its preparation and cancelling (❌ and the button).
- `buttons`: restart-safe buttons (`DynamicItem`s).
- `status`: the one public status message, edited with coalescing.
- `delivery`: posting the video (or its link) and telling the author.
- `rendering`: pure functions from a job to embeds and sentences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.animate.cog import PREPARING_AT_ONCE, Animate

if TYPE_CHECKING:
    from app.client import AnimateBot

__all__ = ["PREPARING_AT_ONCE", "Animate", "setup"]


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(Animate(bot, bot.jobs))
