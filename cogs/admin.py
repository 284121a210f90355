"""/admin: a server's switches for /animate (Manage Server), always answered privately.

Thin: it checks who asks, calls `GuildAdmin`, and renders. Discord hides the group
from members without Manage Server (`default_permissions`), but server admins can
override that per role or channel, so the permission is checked here again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.admission import EffectiveLimits
from bot.guild_settings import (
    MAX_REASON_CHARS,
    GuildAdmin,
    LimitTooHigh,
    TooManyChannels,
    may_administer,
)
from bot.models import GuildSettings, UsageReport
from cogs.animate.rendering import safe_text

if TYPE_CHECKING:
    from bot.app import AnimateBot

log = logging.getLogger(__name__)

NOT_ALLOWED = "You need the Manage Server permission on this server to use /admin."
OTHER_SERVER = "Only the bot's operator can manage another server."
BAD_GUILD = "That is not a server id (a number, as Discord's “Copy Server ID” gives)."
CHANNELS_HERE_ONLY = "Pick channels while you are on that server."
TOO_MANY_CHANNELS = "A server can allow at most {limit} channels; nothing was changed."
LIMIT_TOO_HIGH = (
    "The bot's operator allows at most {ceiling} for “{name}”, so this server cannot "
    "set {asked}; nothing was changed."
)
PAUSED = "New videos are paused on this server. Running ones will finish."
RESUMED = "New videos are allowed again on this server."
NO_PINGS = discord.AllowedMentions.none()


def settings_text(guild: GuildSettings, limits: EffectiveLimits, *, global_pause: bool) -> str:
    """Everything /admin controls on a server, as its admins read it."""
    if guild.paused:
        state = "⏸️ Paused" + (
            f": {safe_text(guild.pause_reason, 200)}" if guild.pause_reason else ""
        )
    else:
        state = "▶️ Accepting new videos"
    if global_pause:
        state += " (the bot's operator has paused new videos everywhere for now)"
    channels = (
        ", ".join(f"<#{c}>" for c in guild.allowed_channel_ids)
        if guild.allowed_channel_ids
        else "every channel"
    )
    cap = limits.daily_spend_cap_usd
    return "\n".join(
        (
            f"**State:** {state}",
            f"**/animate works in:** {channels}",
            f"**Per member:** {limits.user_concurrent} at once, {limits.user_daily} per 24 hours",
            f"**Daily budget for the server:** {f'${cap:.2f}' if cap else 'none'}"
            + (" (counts known and expected costs of the last 24 hours)" if cap else ""),
        )
    )


def usage_text(report: UsageReport, days: int) -> str:
    period = "the last 24 hours" if days == 1 else f"the last {days} days"
    lines = [
        f"**This server, {period}:** {report.jobs} videos · {report.delivered} delivered · "
        f"{report.failed} failed · {report.cancelled} cancelled · {report.active} in progress",
        f"**Spend:** ${report.spend_usd:.2f} (costs the video service reported)",
    ]
    if report.top_users:
        lines.append("**Top members by spend:**")
        lines.extend(
            f"{rank}. <@{user.user_id}>: ${user.spend_usd:.2f} ({user.jobs} videos)"
            for rank, user in enumerate(report.top_users, start=1)
        )
    return "\n".join(lines)


class Admin(commands.Cog):
    admin = app_commands.Group(
        name="admin",
        description="Control /animate on this server (Manage Server)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: AnimateBot, service: GuildAdmin) -> None:
        self.bot = bot
        self.service = service

    async def _target(self, interaction: discord.Interaction, guild: str | None) -> int | None:
        """The server to act on, or None once the refusal has been sent."""
        own = interaction.guild_id
        target = own
        if guild is not None:
            if not guild.strip().isdigit():
                await _reply(interaction, BAD_GUILD)
                return None
            target = int(guild.strip())
        allowed = target is not None and may_administer(
            self.bot.settings,
            user_id=interaction.user.id,
            manage_guild=interaction.permissions.manage_guild,
            own_guild_id=own,
            target_guild_id=target,
        )
        if not allowed or target is None:
            await _reply(interaction, OTHER_SERVER if target != own else NOT_ALLOWED)
            log.info("User %d refused /admin on guild %s", interaction.user.id, target)
            return None
        return target

    async def _show(self, interaction: discord.Interaction, guild_id: int, lead: str = "") -> None:
        current = await self.service.get(guild_id)
        text = settings_text(
            current,
            self.service.limits(current),
            global_pause=self.bot.settings.global_pause,
        )
        await _reply(interaction, f"{lead}\n\n{text}" if lead else text)

    @admin.command(name="pause", description="Stop new videos on this server (running ones finish)")
    @app_commands.describe(
        reason="Shown to members who try /animate", guild="Operator only: a server id"
    )
    async def pause(
        self,
        interaction: discord.Interaction,
        reason: app_commands.Range[str, 1, MAX_REASON_CHARS] | None = None,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        await self.service.pause(target, by=interaction.user.id, reason=reason)
        await self._show(interaction, target, PAUSED)

    @admin.command(name="resume", description="Allow new videos on this server again")
    @app_commands.describe(guild="Operator only: a server id")
    async def resume(self, interaction: discord.Interaction, guild: str | None = None) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        await self.service.resume(target, by=interaction.user.id)
        await self._show(interaction, target, RESUMED)

    @admin.command(name="channels", description="Choose where /animate works (bare: show)")
    @app_commands.describe(
        add="Allow /animate in this channel (then only in the allowed ones)",
        remove="Stop allowing /animate in this channel",
        everywhere="Allow /animate in every channel again",
        guild="Operator only: a server id",
    )
    async def channels(
        self,
        interaction: discord.Interaction,
        add: discord.TextChannel | None = None,
        remove: discord.TextChannel | None = None,
        everywhere: bool = False,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        if (add or remove) and target != interaction.guild_id:
            await _reply(interaction, CHANNELS_HERE_ONLY)
            return
        try:
            await self.service.set_channels(
                target,
                by=interaction.user.id,
                add=add.id if add else None,
                remove=remove.id if remove else None,
                everywhere=everywhere,
            )
        except TooManyChannels as exc:
            await _reply(interaction, TOO_MANY_CHANNELS.format(limit=exc.limit))
            return
        await self._show(interaction, target)

    @admin.command(name="limits", description="This server's limits (bare: show them)")
    @app_commands.describe(
        per_user_at_once="Videos in progress per member at once",
        per_user_daily="Videos per member per 24 hours",
        daily_spend_usd="Budget in US dollars for the whole server per 24 hours (0: none)",
        reset="Go back to the bot's own limits and no budget",
        guild="Operator only: a server id",
    )
    async def limits(
        self,
        interaction: discord.Interaction,
        per_user_at_once: app_commands.Range[int, 1, 1000] | None = None,
        per_user_daily: app_commands.Range[int, 1, 10000] | None = None,
        daily_spend_usd: app_commands.Range[float, 0, 100000] | None = None,
        reset: bool = False,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        try:
            await self.service.set_limits(
                target,
                by=interaction.user.id,
                user_concurrent=per_user_at_once,
                user_daily=per_user_daily,
                daily_spend_usd=daily_spend_usd,
                reset=reset,
            )
        except LimitTooHigh as exc:
            text = LIMIT_TOO_HIGH.format(name=exc.name, asked=exc.asked, ceiling=exc.ceiling)
            await _reply(interaction, text)
            return
        await self._show(interaction, target)

    @admin.command(name="usage", description="Videos and spend on this server, top members")
    @app_commands.describe(
        days="How many days back (default 7)", guild="Operator only: a server id"
    )
    async def usage(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, 90] = 7,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        report = await self.service.usage(target, days=days)
        await _reply(interaction, usage_text(report, days))


async def _reply(interaction: discord.Interaction, text: str) -> None:
    # Mentions in reports name members without pinging them.
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: AnimateBot) -> None:
    await bot.add_cog(Admin(bot, bot.services.guild_admin))
