"""Which catalog speaks: Discord's locales negotiated, region folders, English as fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import i18n


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
