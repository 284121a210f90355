"""Buttons that keep working after a restart: the job id lives in the custom_id."""

from __future__ import annotations

from typing import Any

import discord

from bot.models import Job

CANCEL_LABEL = "Cancel"
EXTEND_LABEL = "Extend"
EXTENDED_LABEL = "Extended"
JOIN_LABEL = "Join with the previous clip"


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:cancel:(?P<job_id>\d+)"
):
    """Cancel a queued job; registered in the cog so a restart does not orphan it."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=CANCEL_LABEL,
                style=discord.ButtonStyle.danger,
                custom_id=f"animate:cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> CancelButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        # Imported here: the cog module imports this one.
        from cogs.animate.cog import Animate

        cog = interaction.client.get_cog("Animate")  # type: ignore[attr-defined]
        if isinstance(cog, Animate):
            await cog.cancel_from_button(interaction, self.job_id)


def cancel_view(job: Job) -> discord.ui.View | None:
    if job.id is None or job.status.is_final:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job.id))
    return view


class ExtendButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:extend:(?P<job_id>\d+)"
):
    """On a delivered video: a new job from its last frame, with the same prompt and options."""

    def __init__(self, job_id: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=EXTENDED_LABEL if disabled else EXTEND_LABEL,
                emoji="⏩",
                style=discord.ButtonStyle.secondary,
                custom_id=f"animate:extend:{job_id}",
                disabled=disabled,
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ExtendButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from cogs.animate.cog import Animate

        cog = interaction.client.get_cog("Animate")  # type: ignore[attr-defined]
        if isinstance(cog, Animate):
            await cog.extend_from_button(interaction, self.job_id)


class JoinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:join:(?P<job_id>\d+)"
):
    """On an extension's video: that clip and the one it continues, as one video."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=JOIN_LABEL,
                emoji="🔗",
                style=discord.ButtonStyle.secondary,
                custom_id=f"animate:join:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> JoinButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        from cogs.animate.cog import Animate

        cog = interaction.client.get_cog("Animate")  # type: ignore[attr-defined]
        if isinstance(cog, Animate):
            await cog.join_from_button(interaction, self.job_id)


def delivered_view(
    job: Job, *, extend_disabled: bool = False, joinable: bool = False
) -> discord.ui.View | None:
    """The buttons under a delivered video: Extend, and Join on an extension."""
    if job.id is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(ExtendButton(job.id, disabled=extend_disabled))
    if joinable:
        view.add_item(JoinButton(job.id))
    return view
