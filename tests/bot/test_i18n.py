"""Catalogs in English and French: complete, well-formed, and spoken end to end."""

from __future__ import annotations

import ast
import re
import string
from decimal import Decimal
from pathlib import Path

import discord
import pytest
from discord import app_commands

from app.client import AnimateBot
from bot import i18n
from cogs.common.translator import CatalogTranslator
from tests.cogs.test_history import custom_id, reply, seed
from tests.fakes.discord import (
    DiscordError,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    _check_command_texts,
)
from tests.fakes.harness import BotRunner

NBSP, NNBSP = "\u00a0", "\u202f"
# Texts Discord shows in the command picker: at most 100 characters each.
COMMAND_TEXT = re.compile(r"\.(command|option|choice)\.")


def texts(locale: str) -> dict[str, list[str]]:
    """Every key of a catalog with its texts (one per plural form)."""
    found = {}
    for message in i18n.read_catalog(locale):
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found[key] = list(strings)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_french_is_an_available_locale_beside_english() -> None:
    assert i18n.available_locales() == ("en", "fr")


# Every catalog found, so a new language is checked without editing this file.
TRANSLATIONS = [locale for locale in i18n.available_locales() if locale != i18n.DEFAULT_LOCALE]


@pytest.mark.parametrize("locale", TRANSLATIONS)
def test_every_key_exists_in_both_languages_with_the_same_placeholders(locale: str) -> None:
    english, other = texts("en"), texts(locale)
    assert sorted(english) == sorted(other)
    for code, parsed in (("en", english), (locale, other)):
        # Babel keeps the last of two equal ids silently: a duplicate hides a text.
        raw = i18n.catalog_path(code).read_text(encoding="utf-8")
        assert len(re.findall(r'^msgid "', raw, re.M)) == len(parsed) + 1, code
    for key, forms in english.items():
        expected = set().union(*(placeholders(f) for f in forms))
        assert all(forms), f"en {key} is empty"
        assert all(other[key]), f"{locale} {key} is empty"
        for form in other[key]:
            assert placeholders(form) == expected, f"{locale} {key}: {form!r}"
        assert len(other[key]) == len(forms), f"{locale} {key} plural forms"


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_command_texts_fit_in_discords_picker(locale: str) -> None:
    for key, forms in texts(locale).items():
        if COMMAND_TEXT.search(key):
            assert all(1 <= len(f) <= 100 for f in forms), f"{locale} {key}"


def test_french_follows_french_typography() -> None:
    for key, forms in texts("fr").items():
        for text in forms:
            plain = text.replace("://", "")  # links
            for i, char in enumerate(plain):
                if char in ";!?" and i:
                    assert plain[i - 1] == NNBSP, f"{key}: thin no-break space before {char!r}"
                if char == ":" and i and not plain[i - 1].isdigit():
                    assert plain[i - 1] == NBSP, f"{key}: no-break space before ':'"
            assert '"' not in text, f"{key}: French quotes are « »"
            assert text.count("«") == text.count(f"«{NBSP}"), key
            assert text.count("»") == text.count(f"{NBSP}»"), key


# A number and its unit never part at a line break: "5 s", "10 Mo", "24 heures".
FRENCH_UNITS = r"(%|px|pixels|mégapixels|Mo|octets?|s|min|secondes|heures|jours)(?!\w)"


def test_french_keeps_numbers_with_their_units() -> None:
    for key, forms in texts("fr").items():
        for text in forms:
            number = r"(\d|\})"
            assert not re.search(number + " " + FRENCH_UNITS, text), f"{key}: breakable space"
            assert not re.search(number + FRENCH_UNITS, text), f"{key}: no space before a unit"
            for before, after in re.findall(r"(.)×(.)", text):
                assert before == after == NBSP, f"{key}: no-break spaces around ×"
            assert text.count("%") == text.count(f"{NNBSP}%"), f"{key}: thin space before %"
            assert text.count("n°") == text.count(f"n°{NBSP}"), f"{key}: no-break space after n°"
            assert "#" not in text, f"{key}: French numbers things with n°"


def test_english_writes_dimensions_with_a_times_sign() -> None:
    for key, forms in texts("en").items():
        for text in forms:
            assert not re.search(r"(\d|\})x(\d|\{)", text), f"{key}: 800×600, not 800x600"


# One voice per language: one word per thing, none of the words of the code or of a
# translation (checked on what users read: placeholders and option names left out).
NOT_SAID = {
    "en": (
        r"\bjobs?\b",
        r"charged",
        r"billed",
        r"operator",
        r"deliver",
        r"nothing was sent",
        r"bare:",
        r"submit",
        r"request id",
        r"\bthe bot\b(?!'s)",
        r"picture",
    ),
    "fr": (
        r"tâche",
        r"factur",
        r"opérateur",
        r"échoué",
        r"\brendu\b",
        r"livr",
        r"joindre",
        r"\bjointe?s?\b",
        r"rapport d'aspect",
        r"veuillez",
        r"description",
        r"(?<!propriétaire du )(?<!ce )\bbot\b",
    ),
}


@pytest.mark.parametrize("locale", sorted(NOT_SAID))
def test_one_voice_per_language(locale: str) -> None:
    said = [
        (key, re.sub(r"\{\w+\}", "", text))
        for key, forms in texts(locale).items()
        if not key.startswith("option_name.")
        for text in forms
    ]
    found = [
        (key, word)
        for key, text in said
        for word in NOT_SAID[locale]
        if re.search(word, text, re.I)
    ]
    assert found == []


def test_plurals_follow_each_languages_rule() -> None:
    en, fr = i18n.for_locale("en"), i18n.for_locale("fr")
    assert [en.plural("history.jobs", n) for n in (0, 1, 2)] == ["0 videos", "1 video", "2 videos"]
    # French counts zero as singular.
    assert [fr.plural("history.jobs", n) for n in (0, 1, 2)] == ["0 vidéo", "1 vidéo", "2 vidéos"]
    assert en.plural("history.jobs", 1234) == "1,234 videos"
    assert fr.plural("history.jobs", 1234) == f"1{NNBSP}234 vidéos"


def test_numbers_and_money_are_formatted_per_locale() -> None:
    en, fr = i18n.for_locale("en-US"), i18n.for_locale("fr")
    assert en.number(1234.5) == "1,234.5" and fr.number(1234.5) == f"1{NNBSP}234,5"
    assert en.number(0.12, 1) == "0.1" and fr.number(0.12, 1) == "0,1"
    assert en.number(3, 0) == "3" and fr.number(2.5, 2) == "2,50"
    assert en.money(0.12) == "$0.12" and fr.money(0.12) == f"0,12{NBSP}$US"
    assert fr.money(1.5, "EUR") == f"1,50{NBSP}€"


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR_fr", "fr"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("es-ES", "en"),
        ("pt-BR", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_discord_locales_are_negotiated_with_english_as_fallback(
    tag: str | None, locale: str
) -> None:
    assert i18n.negotiate(tag) == locale
    assert i18n.for_locale(tag).locale == locale


@pytest.mark.parametrize(
    ("tag", "locale"),
    [("pt-BR", "pt-BR"), ("PT_br", "pt-BR"), ("pt-PT", "pt"), ("zh-TW", "zh_TW"), ("zh-CN", "en")],
)
def test_region_folders_are_found_whatever_the_case_or_separator(tag: str, locale: str) -> None:
    available = ("en", "fr", "pt", "pt-BR", "zh_TW")
    assert i18n.negotiate(tag, available) == locale


def test_each_catalog_is_loaded_once() -> None:
    assert i18n.for_locale("fr") is i18n.for_locale("fr-FR")
    assert i18n.for_locale("en-GB") is i18n.english()


def test_a_key_missing_in_a_translation_falls_back_to_english(tmp_path: Path) -> None:
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    for locale, body in (
        (
            "en",
            'msgid "a.hello"\nmsgstr "Hello {name}"\n\nmsgid "a.new"\nmsgstr "Brand new"\n\n'
            'msgid "a.broken"\nmsgstr "Fine {name}"\n',
        ),
        ("fr", 'msgid "a.hello"\nmsgstr "Bonjour {name}"\n\nmsgid "a.broken"\nmsgstr "{nom}"\n'),
    ):
        folder = tmp_path / locale / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(header + body, encoding="utf-8")
    en = i18n.load_messages("en", tmp_path)
    fr = i18n.load_messages("fr", tmp_path, fallback=en)
    assert fr("a.hello", name="Léa") == "Bonjour Léa"
    assert fr("a.new") == "Brand new" and not fr.has("a.new") and en.has("a.new")
    # A translation whose placeholder went wrong shows English, it does not crash.
    assert fr("a.broken", name="Léa") == "Fine Léa"
    with pytest.raises(KeyError):
        en("a.hello")  # English itself is the source: a wrong call is a bug to see


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


async def test_about_answers_in_the_users_language(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    french = await reply(discord_fake, await discord_fake.invoke("about", locale="fr"))
    assert french.ephemeral
    assert french.content.startswith("Je transforme une image en courte vidéo")
    assert french.content == i18n.for_locale("fr")("about.body")
    for locale in ("en-US", "es-ES"):
        english = await reply(discord_fake, await discord_fake.invoke("about", locale=locale))
        assert english.content.startswith("I turn an image into a short video")


async def click(
    fake: FakeDiscord, message: FakeMessage, label: str, locale: str, **kwargs: object
) -> FakeInteraction:
    ix = await fake.click(message, custom_id(message, label), locale=locale, **kwargs)  # type: ignore[arg-type]
    await fake.wait_for(lambda: ix.response_type is not None)
    return ix


async def test_history_pages_and_details_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    jobs = await seed(bot, discord_fake.author, 12)
    page = await reply(discord_fake, await discord_fake.invoke("history", locale="fr"))
    embed = page.embeds[0]
    assert embed["title"] == "Vos vidéos"
    assert embed["footer"]["text"] == f"Page 1 sur 2 · 12 vidéos · filtre{NBSP}: toutes"
    assert f"**n°{NBSP}{jobs[-1].id}**" in embed["description"]
    assert "[Ouvrir la vidéo](https://discord.com/channels/1/2/" in embed["description"]
    assert f"traitée en 1{NBSP}min{NBSP}10{NBSP}s" in embed["description"]
    assert any(
        item.get("label") == "Page 1 sur 2" for row in page.components for item in row["components"]
    )
    select = page.components[1]["components"][0]
    assert select["placeholder"] == "Afficher le détail d'une vidéo"
    assert select["options"][0]["label"] == f"n°{NBSP}{jobs[-1].id} · job 11"

    await click(discord_fake, page, "select", "fr", values=[str(jobs[0].id)])
    detail = page.embeds[0]
    assert detail["title"] == f"Vidéo n°{NBSP}{jobs[0].id}"
    fields = {f["name"]: f["value"] for f in detail["fields"]}
    assert fields["État"] == "✅ Publiée"
    assert (
        fields["Options"] == f"Seedance v1.5 pro · 720p · 9:16 · 6{NBSP}s · avec son · caméra fixe"
    )
    assert fields["Image"] == f"cat.png{NBSP}: 800{NBSP}×{NBSP}600{NBSP}px PNG, 0,1{NBSP}Mo"
    assert fields["En file d'attente"] == f"10{NBSP}s"
    assert fields["Génération"] == f"1{NBSP}min{NBSP}00{NBSP}s"
    assert fields["Coût"] == f"0,12{NBSP}$US"
    assert fields["Référence"] == f"`{jobs[0].request_id}`"
    await click(discord_fake, page, "Retour à la liste", "fr")
    assert page.embeds[0]["title"] == "Vos vidéos"

    failed = await reply(
        discord_fake, await discord_fake.invoke("history", job=jobs[1].id, locale="fr")
    )
    fields = {f["name"]: f["value"] for f in failed.embeds[0]["fields"]}
    # Our sentence in French, from the kind of failure; the service's words only quoted.
    assert fields["État"] == (
        f"⚠️ Échec{NBSP}: Le service vidéo n'a pas pu créer cette vidéo. Réessayez."
    )
    assert fields["Réponse du service vidéo"] == "> model error"
    assert "model error" not in fields["Résultat"]
    missing = await reply(
        discord_fake, await discord_fake.invoke("history", job=99_999, locale="fr")
    )
    assert missing.content == "Je n'ai trouvé aucune de vos vidéos avec ce numéro."

    # Someone else's buttons refuse each presser in their own language.
    refused = await click(
        discord_fake, page, "select", "fr", user=discord_fake.stranger, values=["1"]
    )
    assert discord_fake.messages[refused.original_id].content.startswith(  # type: ignore[index]
        "Ces boutons appartiennent au /history de quelqu'un d'autre."
    )
    refused = await click(
        discord_fake, page, "select", "en-GB", user=discord_fake.stranger, values=["1"]
    )
    assert "someone else's" in discord_fake.messages[refused.original_id].content  # type: ignore[index]


async def test_an_empty_filtered_history_in_french(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    page = await reply(
        discord_fake, await discord_fake.invoke("history", status="cancelled", locale="fr")
    )
    assert page.embeds[0]["description"] == (
        f"Aucune vidéo ne correspond au filtre «{NBSP}annulées{NBSP}». "
        "Utilisez /animate pour en créer une."
    )
    assert page.embeds[0]["footer"]["text"].endswith(f"0 vidéo · filtre{NBSP}: annulées")


async def test_a_french_server_does_not_change_a_private_answer(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    discord_fake.guild_locale = "fr"
    bot = await runner.start()
    guild = bot.get_guild(discord_fake.guild_id)
    assert guild is not None and guild.preferred_locale is discord.Locale.french
    ix = await discord_fake.invoke("about", locale="en-US")
    assert ix.payload["guild_locale"] == "fr"
    answer = await reply(discord_fake, ix)
    # Ephemeral answers follow the reader's own client, not the server.
    assert answer.content.startswith("I turn an image into a short video")


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


# Where keys are written in code: a typo there would show English (or crash) at runtime.
ROOT = Path(__file__).parents[2]
KEYED_SOURCES = [
    *sorted((ROOT / "cogs").rglob("*.py")),
    *sorted((ROOT / "app").rglob("*.py")),
    ROOT / "bot" / "prompts.py",
    *sorted((ROOT / "bot" / "images").rglob("*.py")),
]
KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
PREFIXES = {key.split(".", 1)[0] for key in texts("en")}


def test_every_key_written_in_code_is_in_the_catalogs() -> None:
    written = set()
    for path in KEYED_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and KEY.match(node.value) and node.value.split(".", 1)[0] in PREFIXES:
                written.add(node.value)
    assert len(written) > 100  # the scan sees the keys (not a vacuous pass)
    for locale in i18n.available_locales():
        missing = sorted(key for key in written if not i18n.for_locale(locale).has(key))
        assert missing == [], locale


def test_every_outcome_refusal_and_quota_has_its_text() -> None:
    from bot.jobs import CancelOutcome
    from cogs.animate.replies import CANCEL_REPLIES, QUOTAS, REFUSALS

    assert set(CANCEL_REPLIES) == set(CancelOutcome)
    for key in (*CANCEL_REPLIES.values(), *QUOTAS.values(), *REFUSALS.values()):
        for locale in i18n.available_locales():
            assert i18n.for_locale(locale).has(key), (locale, key)


def test_numbers_and_money_of_equal_values_keep_their_own_formats() -> None:
    # Formatted texts are kept per locale: 1, 1.0 and Decimal("1.50") are equal keys
    # to a dict, and must still each read as themselves.
    french = i18n.for_locale("fr")
    assert [french.number(1), french.number(1.0, 1), french.number(Decimal("1.50"), 2)] == [
        "1",
        "1,0",
        "1,50",
    ]
    assert french.number(1) == "1" and french.money(1) == french.money(1.0) == "1,00\u00a0$US"
    assert i18n.english().money(Decimal("0.125")) == "$0.12"
