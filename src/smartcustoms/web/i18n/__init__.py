"""The pages' languages: one gettext catalogue per language, read from its .po file at start.

The catalogue is `web/i18n/<locale>/LC_MESSAGES/messages.po` (msgids are the English text, so
English needs no catalogue). It is read with Babel's .po reader when first used, so a fresh
`pip install -e .` works without a compile step. The language of a request is the `sc_lang`
cookie (set by the switch on every page), else the best of the browser's `Accept-Language`,
else English.
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

HERE = Path(__file__).parent
LANG_COOKIE = "sc_lang"
DEFAULT = "en"
# Language tag (cookie value, <html lang>) -> the catalogue's directory (None: msgids as they are).
LANGUAGES: dict[str, str | None] = {"en": None, "zh-Hans": "zh_Hans"}
NAMES = {"en": "English", "zh-Hans": "简体中文"}
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def N_(message: str) -> str:  # the gettext convention: mark for extraction, translate later
    """Mark a string for the catalogue without translating it here."""
    return message


def po_path(lang: str) -> Path | None:
    """The .po file of a language (None for English)."""
    folder = LANGUAGES.get(lang)
    return HERE / folder / "LC_MESSAGES" / "messages.po" if folder else None


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The language's translations, read from its .po file once (English: the msgids themselves)."""
    path = po_path(lang)
    if path is None:
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=LANGUAGES[lang])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


def gettext(lang: str, message: str) -> str:
    """`message` in the language."""
    return translations(lang).gettext(message)


def pgettext(lang: str, context: str, message: str) -> str:
    """`message` in the language, as the catalogue translates it in `context` (its msgctxt)."""
    return translations(lang).pgettext(context, message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message in the language, for n."""
    return translations(lang).ngettext(singular, plural, n)


def from_accept_language(header: str) -> str:
    """The best supported language of an Accept-Language header (English when none is)."""
    best, best_q = DEFAULT, 0.0
    for part in header.split(",")[:20]:
        m = _RANGE.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            continue
        tag = m.group(1).lower()
        lang = "zh-Hans" if tag == "zh" or tag.startswith(("zh-hans", "zh-cn", "zh-sg")) else "en" if tag.split("-")[0] == "en" else None
        if lang is not None and q > best_q:  # ties keep the first listed
            best, best_q = lang, q
    return best


def choose(*, cookie: str | None, accept_language: str) -> str:
    """The language of a request: the remembered choice, else the browser's preference."""
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept_language)
