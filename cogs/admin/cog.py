"""/admin's commands: who may act on which server, then `GuildAdmin`, then the settings.

Thin: it checks who asks, calls `GuildAdmin`, and renders (`rendering.py`). Discord
hides the group from members without Manage Server (`default_permissions`), but server
admins can override that per role or channel, so the permission is checked here again.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.guild_settings import (
    MAX_REASON_CHARS,
    GuildAdmin,
    LimitTooHigh,
    NoModelLeft,
    TooManyChannels,
    UnknownModel,
    may_administer,
)
from bot.ids import MAX_STORED_ID, parse_snowflake
from bot.models.registry import Models
from cogs.admin.rendering import language_choices, settings_text, usage_text
from cogs.common.translator import command_text, user_messages

log = logging.getLogger(__name__)

# Catalog keys (bot/locales/*/LC_MESSAGES/messages.po); /admin answers only the
# admin, so always in their own client's language.
NOT_ALLOWED = "admin.not_allowed"
OTHER_SERVER = "admin.other_server"
BAD_GUILD = "admin.bad_guild"
CHANNELS_HERE_ONLY = "admin.channels_here_only"
PAUSED = "admin.paused"
RESUMED = "admin.resumed"
NO_PINGS = discord.AllowedMentions.none()
GUILD_OPTION = command_text("admin.option.guild")


class Admin(commands.Cog):
    admin = app_commands.Group(
        name="admin",
        description=command_text("admin.command.description"),
        guild_only=True,
        # A server that added the bot, used there only (never a member's own install).
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, settings: Settings, service: GuildAdmin, models: Models) -> None:
        self.settings = settings
        self.service = service
        self.models = models

    async def _target(self, interaction: discord.Interaction, guild: str | None) -> int | None:
        """The server to act on, or None once the refusal has been sent."""
        own = interaction.guild_id
        target = own
        if guild is not None:
            target = parse_snowflake(guild)
            if target is None or target > MAX_STORED_ID:
                await _reply(interaction, user_messages(interaction)(BAD_GUILD))
                return None
        allowed = target is not None and may_administer(
            self.settings,
            user_id=interaction.user.id,
            manage_guild=interaction.permissions.manage_guild,
            own_guild_id=own,
            target_guild_id=target,
        )
        if not allowed or target is None:
            refusal = OTHER_SERVER if target != own else NOT_ALLOWED
            await _reply(interaction, user_messages(interaction)(refusal))
            log.info("User %d refused /admin on guild %s", interaction.user.id, target)
            return None
        return target

    async def _show(self, interaction: discord.Interaction, guild_id: int, lead: str = "") -> None:
        """The server's settings, after `lead` (a catalog key) when there is one."""
        t = user_messages(interaction)
        current = await self.service.get(guild_id)
        text = settings_text(
            current,
            self.service.limits(current),
            t,
            global_pause=self.settings.global_pause,
            models=self.models,
        )
        await _reply(interaction, f"{t(lead)}\n\n{text}" if lead else text)

    @admin.command(name="pause", description=command_text("admin_pause.command.description"))
    @app_commands.describe(reason=command_text("admin_pause.option.reason"), guild=GUILD_OPTION)
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

    @admin.command(name="resume", description=command_text("admin_resume.command.description"))
    @app_commands.describe(guild=GUILD_OPTION)
    async def resume(self, interaction: discord.Interaction, guild: str | None = None) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        await self.service.resume(target, by=interaction.user.id)
        await self._show(interaction, target, RESUMED)

    @admin.command(name="channels", description=command_text("admin_channels.command.description"))
    @app_commands.describe(
        add=command_text("admin_channels.option.add"),
        remove=command_text("admin_channels.option.remove"),
        everywhere=command_text("admin_channels.option.everywhere"),
        guild=GUILD_OPTION,
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
            await _reply(interaction, user_messages(interaction)(CHANNELS_HERE_ONLY))
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
            refusal = user_messages(interaction).plural("admin.too_many_channels", exc.limit)
            await _reply(interaction, refusal)
            return
        await self._show(interaction, target)

    @admin.command(name="limits", description=command_text("admin_limits.command.description"))
    @app_commands.describe(
        per_user_at_once=command_text("admin_limits.option.per_user_at_once"),
        per_user_daily=command_text("admin_limits.option.per_user_daily"),
        daily_spend_usd=command_text("admin_limits.option.daily_spend_usd"),
        reset=command_text("admin_limits.option.reset"),
        guild=GUILD_OPTION,
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
            t = user_messages(interaction)
            text = t(
                "admin.limit_too_high",
                name=t(f"option_name.{exc.name}"),  # as the admin's picker shows it
                asked=t.number(exc.asked),
                ceiling=t.number(exc.ceiling),
            )
            await _reply(interaction, text)
            return
        await self._show(interaction, target)

    @admin.command(name="models", description=command_text("admin_models.command.description"))
    @app_commands.describe(
        default=command_text("admin_models.option.default"),
        allow=command_text("admin_models.option.allow"),
        deny=command_text("admin_models.option.deny"),
        every=command_text("admin_models.option.every"),
        guild=GUILD_OPTION,
    )
    async def models_(
        self,
        interaction: discord.Interaction,
        default: str | None = None,
        allow: str | None = None,
        deny: str | None = None,
        every: bool = False,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        t = user_messages(interaction)
        try:
            await self.service.set_models(
                target,
                by=interaction.user.id,
                operator_models=self.models.model_ids,
                default=default,
                allow=allow,
                deny=deny,
                every=every,
            )
        except UnknownModel as exc:
            names = ", ".join(m.name for m in self.models.available())
            await _reply(
                interaction, t("admin.models.unknown", model=exc.model[:100], models=names)
            )
            return
        except NoModelLeft:
            await _reply(interaction, t("admin.models.none_left"))
            return
        await self._show(interaction, target)

    @models_.autocomplete("default")
    @models_.autocomplete("allow")
    @models_.autocomplete("deny")
    async def _operator_models(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        """The operator's models: a server may narrow their list, never add to it."""
        typed = typed.lower()
        return [
            app_commands.Choice(name=m.name[:100], value=m.model_id)
            for m in self.models.available()
            if typed in m.name.lower() or typed in m.model_id.lower()
        ][:25]

    @admin.command(name="language", description=command_text("admin_language.command.description"))
    @app_commands.describe(
        language=command_text("admin_language.option.language"), guild=GUILD_OPTION
    )
    @app_commands.choices(language=language_choices())
    async def language(
        self,
        interaction: discord.Interaction,
        language: str | None = None,
        guild: str | None = None,
    ) -> None:
        target = await self._target(interaction, guild)
        if target is None:
            return
        if language is not None:
            await self.service.set_language(target, by=interaction.user.id, language=language)
        await self._show(interaction, target)

    @admin.command(name="usage", description=command_text("admin_usage.command.description"))
    @app_commands.describe(days=command_text("admin_usage.option.days"), guild=GUILD_OPTION)
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
        await _reply(interaction, usage_text(report, days, user_messages(interaction)))


async def _reply(interaction: discord.Interaction, text: str) -> None:
    # Mentions in reports name members without pinging them.
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
