"""Buttons that keep working after a restart: the job id lives in the custom_id.

Cancel sits on the status message while the job can be cancelled; Again, Remix,
Higher resolution, Extend (and Join on an extension) sit under the delivered video
(`result_view`: add one more button there). Every press goes to the cog, which
reads the job from the store.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.domain import RESOLUTIONS, Job, Resolution
from bot.i18n import Messages
from cogs.animate.rendering import CANCELLABLE, public_messages


def _animate_cog(interaction: discord.Interaction) -> Any:
    # Imported here: the cog module imports this one.
    from cogs.animate.cog import Animate

    cog = interaction.client.get_cog("Animate")  # type: ignore[attr-defined]
    return cog if isinstance(cog, Animate) else None


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:cancel:(?P<job_id>\d+)"
):
    """Cancel a queued job; registered in the cog so a restart does not orphan it."""

    def __init__(self, job_id: int, label: str = "Cancel") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
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
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.cancel_from_button(interaction, self.job_id)


class AgainButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:again:(?P<job_id>\d+)"
):
    """The same image, prompt and options: a new job for whoever presses."""

    def __init__(self, job_id: int, label: str = "Again") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="🔁",
                style=discord.ButtonStyle.primary,
                custom_id=f"animate:again:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> AgainButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.results.again_from_button(interaction, self.job_id)


class RemixButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:remix:(?P<job_id>\d+)"
):
    """A modal prefilled with the prompt and options, then a new job on the same image."""

    def __init__(self, job_id: int, label: str = "Remix") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji="🎛️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"animate:remix:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> RemixButton:
        return cls(int(match["job_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.results.remix_from_button(interaction, self.job_id)


class HigherButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"animate:higher:(?P<job_id>\d+):(?P<resolution>480p|720p|1080p)",
):
    """The same job again at a higher resolution."""

    def __init__(self, job_id: int, resolution: Resolution, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or resolution,
                emoji="⬆️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"animate:higher:{job_id}:{resolution}",
            )
        )
        self.job_id = job_id
        self.resolution: Resolution = resolution

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> HigherButton:
        resolution: Resolution = match["resolution"]
        return cls(int(match["job_id"]), resolution)

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.results.again_from_button(
                interaction, self.job_id, resolution=self.resolution
            )


class ExtendButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:extend:(?P<job_id>\d+)"
):
    """On a delivered video: a new job from its last frame, with the same prompt and options."""

    def __init__(self, job_id: int, label: str = "Extend", *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
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
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.continuations.extend_from_button(interaction, self.job_id)


class JoinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"animate:join:(?P<job_id>\d+)"
):
    """On an extension's video: that clip and the one it continues, as one video."""

    def __init__(self, job_id: int, label: str = "Join with the previous clip") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
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
        cog = _animate_cog(interaction)
        if cog is not None:
            await cog.continuations.join_from_button(interaction, self.job_id)


DYNAMIC_ITEMS = (CancelButton, AgainButton, RemixButton, HigherButton, ExtendButton, JoinButton)


def cancel_view(job: Job) -> discord.ui.View | None:
    """The Cancel button, only while cancelling can still work."""
    if job.id is None or job.status not in CANCELLABLE:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job.id, public_messages(job)("button.cancel")))
    return view


def higher_resolutions(job: Job) -> tuple[Resolution, ...]:
    index = RESOLUTIONS.index(job.options.resolution)
    return RESOLUTIONS[index + 1 :]


def result_view(
    job: Job,
    t: Messages | None = None,
    *,
    extendable: bool = True,
    extend_disabled: bool = False,
    joinable: bool = False,
) -> discord.ui.View | None:
    """The buttons under a delivered video; one more is one more `add_item`.

    Extend needs the video on the message and is disabled once pressed (a job is
    extended once); Join only on an extension whose two clips fit the upload limit
    together.
    """
    if job.id is None:
        return None
    t = t or public_messages(job)
    view = discord.ui.View(timeout=None)
    view.add_item(AgainButton(job.id, t("button.again")))
    view.add_item(RemixButton(job.id, t("button.remix")))
    for resolution in higher_resolutions(job):
        view.add_item(HigherButton(job.id, resolution, t("button.higher", resolution=resolution)))
    if extendable:
        label = t("button.extended") if extend_disabled else t("button.extend")
        view.add_item(ExtendButton(job.id, label, disabled=extend_disabled))
    if joinable:
        view.add_item(JoinButton(job.id, t("button.join")))
    return view


def custom_ids(message: discord.Message) -> set[str]:
    return {
        child.custom_id
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button) and child.custom_id
    }
