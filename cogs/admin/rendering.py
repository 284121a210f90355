"""/admin's texts: a server's settings and its usage as its admins read them.

Pure: settings and reports in, the admin's language (`Messages`) in, words out.
"""

from __future__ import annotations

from discord import app_commands

from bot import i18n
from bot.admission import EffectiveLimits, offered, server_default
from bot.domain import GuildSettings, UsageReport
from bot.i18n import Messages
from bot.languages import AUTO, server_language_choices
from bot.models.model import display_name
from bot.models.registry import Models
from cogs.common.translator import command_text
from cogs.common.words import safe_text

LANGUAGE = "language.name"  # each catalog's name of its own language


def settings_text(
    guild: GuildSettings,
    limits: EffectiveLimits,
    t: Messages,
    *,
    global_pause: bool,
    models: Models | None = None,
) -> str:
    """Everything /admin controls on a server, as its admins read it."""
    if guild.paused and guild.pause_reason:
        state = t("admin.state.paused_because", reason=safe_text(guild.pause_reason, 200))
    elif guild.paused:
        state = t("admin.state.paused")
    else:
        state = t("admin.state.accepting")
    if global_pause:
        state = t("admin.state.global_pause", state=state)
    channels = (
        ", ".join(f"<#{c}>" for c in guild.allowed_channel_ids)
        if guild.allowed_channel_ids
        else t("admin.every_channel")
    )
    cap = limits.daily_spend_cap_usd
    lines = [
        t("admin.settings.state", state=state),
        t("admin.settings.channels", channels=channels),
        t("admin.settings.language", language=language_name(guild.language, t)),
        t(
            "admin.settings.per_member",
            at_once=t.number(limits.user_concurrent),
            daily=t.number(limits.user_daily),
        ),
        t("admin.settings.budget", cap=t.money(cap)) if cap else t("admin.settings.no_budget"),
    ]
    if models is not None and len(models.model_ids) > 1:
        lines.append(models_text(guild, models, t))
    return "\n".join(lines)


def models_text(guild: GuildSettings, models: Models, t: Messages) -> str:
    """The server's default model and the models its members may use, by name."""
    here = offered(models, guild)
    names = ", ".join(m.name for m in here) or t("admin.models.none")
    default = server_default(here, guild)
    return t("admin.settings.models", default=default.name if default else "-", models=names)


def language_name(language: str | None, t: Messages) -> str:
    """A server's language setting: each language named in itself, else automatic."""
    return t("admin.language.auto") if language is None else i18n.for_locale(language)(LANGUAGE)


def language_choices() -> list[app_commands.Choice[str]]:
    """Automatic, then every shipped language by its own name (the same in every picker)."""
    return [
        app_commands.Choice(name=command_text("admin_language.choice.auto"), value=AUTO),
        *(
            app_commands.Choice(name=i18n.for_locale(code)(LANGUAGE), value=code)
            for code in server_language_choices()
            if code != AUTO
        ),
    ]


def usage_text(report: UsageReport, days: int, t: Messages) -> str:
    period = t("admin.usage.last_day") if days == 1 else t.plural("admin.usage.last_days", days)
    lines = [
        t(
            "admin.usage.summary",
            period=period,
            videos=t.plural("admin.usage.videos", report.jobs),
            delivered=t.number(report.delivered),
            failed=t.number(report.failed),
            cancelled=t.number(report.cancelled),
            active=t.number(report.active),
        ),
        t("admin.usage.spend", spend=t.money(report.spend_usd)),
    ]
    if len(report.by_model) > 1 or any(m.estimated_usd for m in report.by_model):
        lines.extend(
            t(
                "admin.usage.model",
                model=display_name(m.model_id),
                videos=t.plural("admin.usage.videos", m.jobs),
                spend=t.money(m.spend_usd),
                estimated=t.money(m.estimated_usd),
            )
            for m in report.by_model
        )
    if report.top_users:
        lines.append(t("admin.usage.top"))
        lines.extend(
            t(
                "admin.usage.member",
                rank=rank,
                user=user.user_id,
                spend=t.money(user.spend_usd),
                videos=t.plural("admin.usage.videos", user.jobs),
            )
            for rank, user in enumerate(report.top_users, start=1)
        )
    return "\n".join(lines)
