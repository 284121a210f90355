"""Message catalogs: the sentences users read, in English and French.

Why gettext catalogs read with Babel rather than Fluent: `.po` is the format every
translation tool (Poedit, Weblate, Crowdin) and most translators know; Babel is needed
anyway for locale-aware numbers and money, and it parses `.po` and compiles `.mo` in
memory at start, so catalogs stay reviewable text in git with no build step and no
binary committed. The standard library's `gettext` then does the lookup and the plural
rules (each catalog's `Plural-Forms` header). Fluent would add a second, less used
dependency for what we do not need (gender selectors, attributes).

Keys are stable ids (`about.body`), not English sentences: rewording English then
cannot orphan French. Texts are `str.format` templates with named placeholders.
English is the source and the fallback of every other locale, key by key.

Discord-free: callers pass locale strings such as Discord's `fr`, `en-US`, `es-ES`.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# Formatted numbers and amounts kept per locale before starting over.
FORMATTED_KEPT = 4096
# Under a cent (in dollars), an amount keeps this many significant digits, not "$0.00".
SUB_CENT = 0.01
SUB_CENT_DIGITS = 2


def catalog_path(locale: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def available_locales() -> tuple[str, ...]:
    """The locales with a catalog, the default first."""
    found = sorted(p.name for p in LOCALES_DIR.iterdir() if catalog_path(p.name).is_file())
    return (DEFAULT_LOCALE, *(code for code in found if code != DEFAULT_LOCALE))


def read_catalog(locale: str, directory: Path = LOCALES_DIR) -> Catalog:
    """The parsed `.po` of one locale (also what the tests check key by key)."""
    with catalog_path(locale, directory).open("rb") as po:
        return read_po(po, locale=locale, domain=DOMAIN)


def negotiate(tag: str | None, available: tuple[str, ...] | None = None) -> str:
    """The catalog for a Discord locale: exact (`pt-BR`), then its language (`fr-CA`),
    else English; folders match whatever their case or separator (`pt_BR`, `pt-br`)."""
    if not tag:
        return DEFAULT_LOCALE
    folders = {_comparable(name): name for name in available or available_locales()}
    wanted = _comparable(tag)
    for candidate in (wanted, wanted.split("-", 1)[0]):
        if candidate in folders:
            return folders[candidate]
    return DEFAULT_LOCALE


def _comparable(tag: str) -> str:
    return tag.replace("_", "-").lower()


class Messages:
    """The sentences of one locale, with its numbers and money."""

    def __init__(
        self,
        locale: str,
        translations: gettext.GNUTranslations,
        keys: frozenset[str],
        fallback: Messages | None = None,
    ) -> None:
        self.locale = locale
        # Parsed once: Babel parses a locale name again on every number it formats.
        self._numbers_locale = Locale.parse(locale)
        # Formatted numbers and amounts: status edits format the same few again and again.
        self._formatted: dict[tuple[str, type, object, object], str] = {}
        self._translations = translations
        self._keys = keys
        self._fallback = fallback

    def __repr__(self) -> str:
        return f"Messages({self.locale!r})"

    def has(self, key: str) -> bool:
        """Whether this locale's own catalog has `key` (not its English fallback)."""
        return key in self._keys

    def __call__(self, key: str, /, **values: object) -> str:
        try:
            return self._translations.gettext(key).format(**values)
        except (KeyError, IndexError, ValueError):
            # A translation whose placeholders went wrong: English rather than a crash.
            if self._fallback is None:
                raise
            log.error(
                "The %s text of %s does not fit its values; English instead", self.locale, key
            )
            return self._fallback(key, **values)

    def plural(self, key: str, count: int, /, **values: object) -> str:
        """A text whose form follows `count` ({count} is it, formatted for the locale)."""
        # The plural id does not matter: catalogs are keyed by the singular id.
        text = self._translations.ngettext(key, key, count)
        try:
            return text.format(count=self.number(count), **values)
        except (KeyError, IndexError, ValueError):
            if self._fallback is None:
                raise
            log.error(
                "The %s text of %s does not fit its values; English instead", self.locale, key
            )
            return self._fallback.plural(key, count, **values)

    def number(self, value: float | Decimal, digits: int | None = None) -> str:
        """`1234.5` as `1,234.5` or `1 234,5`; `digits` fixes the decimals shown."""
        key = ("number", type(value), value, digits)  # 1 and 1.0 are one key otherwise
        text = self._formatted.get(key)
        if text is None:
            pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
            text = self._remember(key, format_decimal(value, pattern, locale=self._numbers_locale))
        return text

    def money(self, amount: float | Decimal, currency: str = "USD") -> str:
        """`$0.12` in English, `0,12 $US` in French."""
        key = ("money", type(amount), amount, currency)
        text = self._formatted.get(key)
        if text is None:
            locale = self._numbers_locale
            if amount and -SUB_CENT < amount < SUB_CENT:
                # "$0.00" beside a cost RunComfy billed would say it was free.
                shown = Decimal(f"{float(amount):.{SUB_CENT_DIGITS}g}")
                formatted = format_currency(
                    shown, currency, locale=locale, decimal_quantization=False
                )
            else:
                formatted = format_currency(amount, currency, locale=locale)
            text = self._remember(key, formatted)
        return text

    def _remember(self, key: tuple[str, type, object, object], text: str) -> str:
        if len(self._formatted) >= FORMATTED_KEPT:
            self._formatted.clear()  # costs (every job's own) are many; most repeat
        self._formatted[key] = text
        return text


def load_messages(
    locale: str, directory: Path = LOCALES_DIR, fallback: Messages | None = None
) -> Messages:
    """Read and compile one catalog; keys it lacks come from `fallback`."""
    catalog = read_catalog(locale, directory)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    if fallback is not None:
        translations.add_fallback(fallback._translations)
    keys = frozenset(str(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id)
    log.debug("Loaded %d messages for locale %s", len(keys), locale)
    return Messages(locale, translations, keys, fallback)


@functools.cache
def _messages(locale: str) -> Messages:
    # A key missing in a translation shows English rather than its id.
    fallback = None if locale == DEFAULT_LOCALE else _messages(DEFAULT_LOCALE)
    return load_messages(locale, fallback=fallback)


def for_locale(tag: str | None) -> Messages:
    """The messages for a Discord locale string, loaded once per catalog."""
    return _messages(negotiate(tag))


def english() -> Messages:
    return _messages(DEFAULT_LOCALE)
