"""Commands in every language: the translator's descriptions, option names and choices."""

from __future__ import annotations

import re

import discord
import pytest
from discord import app_commands

from app.client import AnimateBot
from bot import i18n
from cogs.common.translator import CatalogTranslator
from tests.bot.i18n_helpers import NBSP, texts
from tests.cogs.test_history import reply
from tests.fakes.discord import DiscordError, FakeDiscord, _check_command_texts


async def translate(text: app_commands.locale_str, locale: discord.Locale) -> str | None:
    context = app_commands.TranslationContext(
        location=app_commands.TranslationContextLocation.command_description, data=None
    )
    return await CatalogTranslator().translate(text, locale, context)


async def test_the_translator_answers_french_for_fr_and_none_otherwise() -> None:
    about = app_commands.locale_str("What this bot does", key="about.command.description")
    assert await translate(about, discord.Locale.french) == (
        "Ce que fait ce bot et comment l'utiliser"
    )
    for locale in (discord.Locale.american_english, discord.Locale.british_english):
        assert await translate(about, locale) is None  # the default is English already
    assert await translate(about, discord.Locale.spain_spanish) is None  # no catalog: English
    assert await translate(app_commands.locale_str("no key"), discord.Locale.french) is None
    unknown = app_commands.locale_str("x", key="no.such.key")
    assert await translate(unknown, discord.Locale.french) is None
    duration = app_commands.locale_str("x", key="animate.option.duration")
    assert await translate(duration, discord.Locale.french) == (
        f"Durée en secondes{NBSP}: je propose celles du modèle"
    )
    seconds = app_commands.locale_str("x", key="job.options.duration", values={"value": "6"})
    assert await translate(seconds, discord.Locale.french) == f"6{NBSP}s"  # values filled in


async def test_synced_commands_carry_french_descriptions(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    en, fr = i18n.english(), i18n.for_locale("fr")
    for name, key in (
        ("about", "about.command.description"),
        ("animate", "animate.command.description"),
        ("history", "history.command.description"),
        ("history-clear", "history_clear.command.description"),
    ):
        command = discord_fake.command(name)
        assert command["description"] == en(key)
        assert command["description_localizations"] == {"fr": fr(key)}
        assert not command.get("name_localizations")  # names stay the same everywhere
    options = {o["name"]: o for o in discord_fake.command("animate")["options"]}
    # One model: no `model` option; the others describe their role, whatever the model.
    assert "model" not in options
    assert options["duration"]["description"] == (
        "Length in seconds: what the model takes is suggested"
    )
    assert options["duration"]["description_localizations"]["fr"] == (
        f"Durée en secondes{NBSP}: je propose celles du modèle"
    )
    for option in options.values():
        assert option["description_localizations"]["fr"] != option["description"]
    status = {o["name"]: o for o in discord_fake.command("history")["options"]}["status"]
    choices = {c["value"]: c for c in status["choices"]}
    assert choices["delivered"]["name"] == "posted"
    assert choices["delivered"]["name_localizations"] == {"fr": "publiées"}
    assert choices["in progress"]["name_localizations"] == {"fr": "en cours"}


async def test_synced_options_carry_french_names_and_choices(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    # Command names stay English; option names and choices are in the reader's words.
    animate = {o["name"]: o for o in discord_fake.command("animate")["options"]}
    assert {name: o.get("name_localizations") for name, o in animate.items()} == {
        "image": {"fr": "image"},
        "prompt": {"fr": "prompt"},
        "resolution": {"fr": "résolution"},
        "ratio": {"fr": "format"},
        "duration": {"fr": "durée"},
        "audio": {"fr": "son"},
        "camera_fixed": {"fr": "caméra_fixe"},
        "private": {"fr": "privée"},
    }
    # A model's ratios are suggested as the member types, in their words.
    ratios = {c["value"]: c["name"] for c in await discord_fake.autocomplete("animate", "ratio")}
    french = {
        c["value"]: c["name"]
        for c in await discord_fake.autocomplete("animate", "ratio", locale="fr")
    }
    assert (ratios["adaptive"], french["adaptive"]) == ("adaptive", "adaptatif")
    assert french["16:9"] == "16:9"  # the same in every language
    admin = {o["name"]: o for o in discord_fake.command("admin")["options"]}
    limits = {o["name"]: o for o in admin["limits"]["options"]}
    assert limits["daily_spend_usd"]["name_localizations"] == {"fr": "budget_quotidien_usd"}
    assert not admin["limits"].get("name_localizations")  # a subcommand is a command
    history = {o["name"]: o for o in discord_fake.command("history")["options"]}
    assert history["status"]["name_localizations"] == {"fr": "état"}
    # The English name comes back whatever the picker showed.
    page = await reply(
        discord_fake, await discord_fake.invoke("history", status="failed", locale="fr")
    )
    assert page.embeds[0]["footer"]["text"].endswith("en échec")


OPTION_NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_option_names_are_names_discord_accepts(locale: str) -> None:
    names = {
        key: forms[0] for key, forms in texts(locale).items() if key.startswith("option_name.")
    }
    assert len(names) > 15
    for key, name in names.items():
        assert OPTION_NAME.match(name) and name == name.lower(), f"{locale} {key}: {name!r}"


async def test_the_translator_names_options_and_choices_by_their_implicit_keys() -> None:
    translator = CatalogTranslator()

    async def name(text: str, where: app_commands.TranslationContextLocation) -> str | None:
        context = app_commands.TranslationContext(location=where, data=None)
        string = app_commands.locale_str(text)
        return await translator.translate(string, discord.Locale.french, context)

    option, choice = (
        app_commands.TranslationContextLocation.parameter_name,
        app_commands.TranslationContextLocation.choice_name,
    )
    assert await name("daily_spend_usd", option) == "budget_quotidien_usd"
    assert await name("adaptive", choice) == "adaptatif"
    assert await name("16:9", choice) is None  # no entry: the same everywhere
    assert await name("no_such_option", option) is None
    # Command names are not translated, even where a key would match.
    assert await name("language", app_commands.TranslationContextLocation.command_name) is None


@pytest.mark.parametrize(
    "command",
    [
        {"name": "about", "description": "x", "description_localizations": {"fr-FR": "y"}},
        {"name": "about", "description": "x", "description_localizations": {"fr": "y" * 101}},
        {"name": "about", "description": "x", "name_localizations": {"fr": "À propos"}},
        {
            "name": "animate",
            "description": "x",
            "options": [
                {"name": "duration", "description": "x", "name_localizations": {"fr": "Durée"}}
            ],
        },
        {
            "name": "animate",
            "description": "x",
            "options": [
                {
                    "name": "camera_fixed",
                    "description": "x",
                    "name_localizations": {"fr": "caméra fixe"},
                }
            ],
        },
        {
            "name": "animate",
            "description": "x",
            "options": [
                {"name": "ratio", "description": "x", "name_localizations": {"fr": "format"}},
                {"name": "format", "description": "x"},
            ],
        },
        {
            "name": "history",
            "description": "x",
            "options": [{"name": "status", "description": "x", "choices": [{"name": ""}]}],
        },
    ],
)
def test_the_fake_refuses_localizations_discord_refuses(command: dict[str, object]) -> None:
    with pytest.raises(DiscordError) as refused:
        _check_command_texts(command)
    assert refused.value.code == 50035
