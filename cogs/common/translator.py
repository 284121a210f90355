"""The Discord side of the catalogs: command texts for the picker, and whose language to speak.

Command and option descriptions are `locale_str`s whose `key` extra names a catalog
entry; their default (what Discord shows when it has no localization) is the English
catalog text, and `CatalogTranslator` gives Discord every other locale's text at sync.
Option and choice names are localized too (`option_name.*`, `choice_name.*`): Discord
sends the English name back whatever the picker showed. Command names stay English:
they are typed, documented, and the same everywhere.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot import i18n, languages

log = logging.getLogger(__name__)


def command_text(key: str, **values: object) -> app_commands.locale_str:
    """A command, option or choice text: English by default, translated at sync."""
    return app_commands.locale_str(i18n.english()(key, **values), key=key, values=values)


def user_messages(interaction: discord.Interaction) -> i18n.Messages:
    """For what only this user sees (ephemeral answers): their own client's language."""
    return i18n.for_locale(str(interaction.locale))


def public_locale(
    interaction: discord.Interaction, server_language: str | None, member_locale: str | None = None
) -> str:
    """For what everyone in the channel sees (stored with the job): `languages.public_locale`
    over what Discord says of the server (the interaction's guild, or the cached one).
    `member_locale`: who started the job, when it is not who is interacting."""
    guild = interaction.guild
    return languages.public_locale(
        server_language,
        guild_features=guild.features if guild is not None else (),
        guild_locale=str(interaction.guild_locale) if interaction.guild_locale else None,
        member_locale=member_locale or str(interaction.locale),
    )


# Names given in code (an option's, a choice's made from a value) are translated by a
# key made from the name: `option_name.camera_fixed`, `choice_name.adaptive`. So any
# command's options are localized by adding catalog entries, however they are declared.
IMPLICIT_KEYS: dict[app_commands.TranslationContextLocation, str] = {
    app_commands.TranslationContextLocation.parameter_name: "option_name.{}",
    app_commands.TranslationContextLocation.choice_name: "choice_name.{}",
}


def implicit_key(
    string: app_commands.locale_str, context: app_commands.TranslationContextTypes
) -> str | None:
    """The catalog key of a name given in code, if the catalogs translate that name."""
    template = IMPLICIT_KEYS.get(context.location)
    if template is None:
        return None
    key = template.format(string.message)
    # Most values (480p, 16:9) read the same everywhere: no entry, no translation.
    return key if i18n.english().has(key) else None


class CatalogTranslator(app_commands.Translator):
    """Translates `locale_str`s carrying a catalog `key` for every locale we have, and
    option and choice names through their implicit keys (`IMPLICIT_KEYS`)."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key") or implicit_key(string, context)
        if key is None:
            return None
        language = i18n.negotiate(locale.value)
        # English is the default text already; a missing key is English too.
        if language == i18n.DEFAULT_LOCALE:
            return None
        messages = i18n.for_locale(language)
        if not messages.has(key):
            log.warning("No %s text for %s (%s): Discord shows English", language, key, context)
            return None
        return messages(key, **string.extras.get("values", {}))
