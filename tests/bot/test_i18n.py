"""Catalogs in English and French: complete, well-formed, in one voice, each with its typography."""

from __future__ import annotations

import ast
import re
import string
from decimal import Decimal
from pathlib import Path

import pytest

from bot import i18n
from tests.bot.i18n_helpers import NBSP, NNBSP, texts

# Texts Discord shows in the command picker: at most 100 characters each.
COMMAND_TEXT = re.compile(r"\.(command|option|choice)\.")


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
