"""Languages of the workbook: the current language, message catalogs, locale formatting.

The book and the notebooks come in three languages: English (``en``),
Spanish as written in Chile (``es``, locale ``es_CL``) and Simplified Chinese
as written in mainland China (``zh``, locale ``zh_Hans_CN``).

Why these tools
---------------
* **gettext catalogs** (``.po`` text, compiled to ``.mo``) are the format
  every translation tool and translator knows (Poedit, Weblate, Transifex);
  the package's own messages live in
  ``citybridge/locales/<lang>/LC_MESSAGES/citybridge.po`` and the compiled
  ``.mo`` is shipped beside it, so an editable install and a wheel both
  carry them (``[tool.setuptools.package-data]`` in ``pyproject.toml``).
* **Babel** extracts the messages from the source, merges and compiles the
  catalogs (:mod:`citybridge.catalogs`), and formats numbers, percentages
  and dates from the Unicode CLDR data: Chile writes 7.400.741 and 20,7,
  mainland China 7,400,741 and 2026年7月6日, each from the locale's own data
  rather than a home-made table of separators and date orders.
* **Sphinx's own i18n** (the ``gettext`` builder, ``locale_dirs`` and
  ``language``) with **sphinx-intl** translates the book's pages; see
  :mod:`citybridge.editions`.

Which language
--------------
:func:`resolve_language` picks, in this order: the explicit argument, the
``CITYBRIDGE_LANG`` environment variable, the locale of the environment
(``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``, as POSIX orders them), and
English. A locale the workbook does not speak (``fr_FR.UTF-8``, ``C``) means
English; an explicit language it does not speak is an error that lists the
languages it does.

Rounding
--------
The formatting functions round exactly as Python's ``format`` does (half to
even on the float's exact binary value), so switching a chapter from
``f"{x:,.1f}"`` to :func:`decimal` changes the separators, never a digit.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import gettext as _gettext
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping

from .errors import CitybridgeError


@dataclass(frozen=True)
class Language:
    """One language of the workbook.

    Attributes
    ----------
    code : str
        The workbook's short code (``en``, ``es``, ``zh``): folder names of
        the editions and of the catalogs, ``--lang`` and ``CITYBRIDGE_LANG``.
    babel : str
        The CLDR locale used for formatting numbers and dates.
    sphinx : str
        The value of Sphinx's ``language`` setting for this edition. It is
        the code itself, because Sphinx looks up the pages' catalogs in
        ``locales/<language>/`` exactly; gettext still finds Sphinx's own
        ``zh_CN`` messages for ``zh`` (``zh`` expands to ``zh_CN``).
    html : str
        The BCP 47 tag for HTML ``lang`` attributes.
    name : str
        The language's name in itself, as the language switcher shows it.
    """

    code: str
    babel: str
    sphinx: str
    html: str
    name: str


#: The languages of the workbook, English first (the source language).
LANGUAGES: dict[str, Language] = {
    "en": Language("en", "en", "en", "en", "English"),
    "es": Language("es", "es_CL", "es", "es-CL", "Español"),
    "zh": Language("zh", "zh_Hans_CN", "zh", "zh-CN", "中文"),
}

#: The language of the sources (msgids of every catalog).
SOURCE_LANGUAGE = "en"

#: Folder of the package's compiled message catalogs.
LOCALE_DIR = Path(__file__).parent / "locales"

#: gettext domain of the package's messages.
DOMAIN = "citybridge"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("citybridge_language", default=None)


def parse_locale(value: str | None) -> str | None:
    """The workbook language of a locale or language name, or None.

    Accepts the workbook's codes (``es``) and POSIX or BCP 47 locale names
    (``es_CL.UTF-8``, ``es-AR``, ``zh_CN.GB18030``, ``zh-Hans``). Traditional
    Chinese (``zh_TW``, ``zh_HK``, ``zh-Hant``) is not Simplified Chinese and
    gives None, as do ``C``, ``POSIX`` and languages the workbook lacks.
    """
    if not value:
        return None
    v = value.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    parts = v.split("_")
    lang = parts[0]
    if lang not in LANGUAGES:
        return None
    if lang == "zh" and any(p in ("tw", "hk", "mo", "hant") for p in parts[1:]):
        return None
    return lang


def resolve_language(lang: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: ``en``, ``es`` or ``zh``.

    Parameters
    ----------
    lang
        An explicit choice (a ``--lang`` option, a notebook parameter).
        Overrides everything else.
    environ
        The environment to read (default ``os.environ``): ``CITYBRIDGE_LANG``,
        then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``.

    Raises
    ------
    CitybridgeError
        When ``lang`` or ``CITYBRIDGE_LANG`` names a language the workbook
        does not have.
    """
    env = os.environ if environ is None else environ
    for source, value in (("the language option", lang), ("CITYBRIDGE_LANG", env.get("CITYBRIDGE_LANG"))):
        if value is None or not str(value).strip():
            continue
        found = parse_locale(str(value))
        if found is None:
            raise CitybridgeError(
                f"{source}: {value!r} is not a language of the workbook; "
                f"use one of {', '.join(LANGUAGES)} ({', '.join(l.name for l in LANGUAGES.values())})")
        return found
    # POSIX: the first of LC_ALL, LC_MESSAGES, LANG that is set decides
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return parse_locale(value) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def current_language() -> str:
    """The language in force: the one set by :func:`use_language`, else :func:`resolve_language`."""
    return _current.get() or resolve_language()


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Run a block in one language (``with use_language("es"): ...``); yields its code.

    ``None`` resolves from the environment (see :func:`resolve_language`).
    """
    code = resolve_language(lang)
    token = _current.set(code)
    try:
        yield code
    finally:
        _current.reset(token)


def set_language(lang: str | None) -> str:
    """Set the language for the rest of this session (a notebook, a command); returns its code."""
    code = resolve_language(lang)
    _current.set(code)
    return code


def language(lang: str | None = None) -> Language:
    """The :class:`Language` of ``lang`` (default: the language in force)."""
    return LANGUAGES[resolve_language(lang) if lang is not None else current_language()]


@lru_cache(maxsize=None)
def translation(lang: str, *, localedir: str | None = None) -> _gettext.NullTranslations:
    """The package's gettext translations for ``lang`` (English: the messages as written).

    Reads the compiled catalog ``<localedir>/<lang>/LC_MESSAGES/citybridge.mo``
    (default: the one shipped in the package). A missing catalog means the
    English text, never an error.
    """
    code = resolve_language(lang)
    if code == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir or str(LOCALE_DIR), languages=[code], fallback=True)


def gettext(message: str, *, lang: str | None = None) -> str:
    """``message`` translated into ``lang`` (default: the language in force).

    Mark every message shown to a reader with this function (Babel's
    extractor finds it under the names ``gettext`` and ``_``); use
    ``str.format`` placeholders with names, so that a translation may move them::

        _("{n} stops are served").format(n=number(n))

    An empty message stays empty (gettext would return the catalog's header).
    """
    if not message:
        return message
    code = current_language() if lang is None else resolve_language(lang)
    return translation(code).gettext(message)


def ngettext(singular: str, plural: str, n: int, *, lang: str | None = None) -> str:
    """The singular or plural form of a message for the count ``n``, translated.

    (Chinese has one form; Spanish and English two.)
    """
    code = current_language() if lang is None else resolve_language(lang)
    return translation(code).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for translation where it is defined (a constant) and
    translate it later with :func:`gettext`; returns it unchanged."""
    return message


# ---------------------------------------------------------------- formatting

def _exact(x: float | int | Decimal) -> Decimal:
    """The exact decimal value of a number (a float's binary value, not its repr)."""
    if isinstance(x, Decimal):
        return x
    if hasattr(x, "item"):  # numpy scalars
        x = x.item()
    if isinstance(x, bool):
        return Decimal(int(x))
    return Decimal(x)


def _pattern(digits: int, *, grouping: bool = True) -> str:
    if digits < 0:
        raise CitybridgeError(f"digits must be 0 or more, not {digits}")
    base = "#,##0" if grouping else "0"
    return base + ("." + "0" * digits if digits else "")


def decimal(x: float | int | Decimal, digits: int = 1, *, lang: str | None = None, grouping: bool = True) -> str:
    """``x`` with ``digits`` decimals, in the conventions of ``lang``.

    ``decimal(20.65, 1, lang="es")`` is ``"20,6"`` and ``decimal(1233258.4, 1, lang="es")``
    ``"1.233.258,4"``; English and Chinese write ``"1,233,258.4"``. Rounding is
    that of ``f"{x:.{digits}f}"``. NaN gives ``"–"`` (no figure).
    """
    from babel.numbers import format_decimal

    if x != x:  # NaN
        return "–"
    loc = language(lang).babel
    return format_decimal(_exact(x), format=_pattern(digits, grouping=grouping), locale=loc,
                          decimal_quantization=True)


def decimals_of(written: str) -> int | None:
    """How many decimals a number written out shows (``"20.65"``: 2, ``"1,234"``: 0), to write it
    again with :func:`decimal` in another language's conventions; None for exponent notation,
    infinity and NaN (``"1e-07"``, ``"inf"``), which have no such count."""
    s = str(written).strip().lower()
    if "e" in s or "n" in s:
        return None
    return len(s.split(".")[1]) if "." in s else 0


def number(x: float | int | Decimal, *, lang: str | None = None) -> str:
    """A whole number with the thousands separator of ``lang`` (rounded as ``f"{x:,.0f}"``).

    Chile: ``number(7400741, lang="es")`` is ``"7.400.741"``; English and
    Chinese write ``"7,400,741"``.
    """
    return decimal(x, 0, lang=lang)


def percent(value: float | int | Decimal, digits: int = 1, *, lang: str | None = None) -> str:
    """A percentage given in percent (``82.1`` means 82.1 %), in the conventions of ``lang``.

    English and Chinese ``"82.1%"``, Chile ``"82,1%"`` (CLDR patterns; the
    figure itself as :func:`decimal` writes it).
    """
    from babel import Locale

    if value != value:
        return "–"
    loc = Locale.parse(language(lang).babel)
    pattern = loc.percent_formats[None].pattern.split(";")[0]
    try:
        sign = loc.number_symbols["latn"]["percentSign"]
    except (KeyError, TypeError):  # pragma: no cover - older Babel: one set of symbols
        sign = "%"
    body = decimal(value, digits, lang=lang)
    i, j = pattern.find("#"), pattern.rfind("0")
    if i < 0 or j < 0:  # pragma: no cover - every CLDR percent pattern has digits
        return f"{body}{sign}"
    return (pattern[:i] + body + pattern[j + 1:]).replace("%", sign)


def date(d: _dt.date | _dt.datetime | str, *, style: str = "long", lang: str | None = None) -> str:
    """A date written the way ``lang`` writes it.

    ``style`` is ``long`` (``6 de julio de 2026``, ``July 6, 2026``,
    ``2026年7月6日``), ``medium`` or ``short`` (``06-07-26`` in Chile). A string
    is read as ``YYYYMMDD`` (GTFS) or ``YYYY-MM-DD``.
    """
    from babel.dates import format_date

    if isinstance(d, str):
        s = d.strip()
        try:
            d = _dt.datetime.strptime(s, "%Y%m%d" if len(s) == 8 else "%Y-%m-%d").date()
        except ValueError:
            raise CitybridgeError(f"{d!r} is not a date: write YYYYMMDD (as in GTFS) or YYYY-MM-DD") from None
    if style not in ("long", "medium", "short", "full"):
        raise CitybridgeError(f"date style {style!r}: use long, medium, short or full")
    return format_date(d, format=style, locale=language(lang).babel)


__all__ = ["LANGUAGES", "Language", "SOURCE_LANGUAGE", "LOCALE_DIR", "DOMAIN", "parse_locale",
           "resolve_language", "current_language", "use_language", "set_language", "language",
           "translation", "gettext", "ngettext", "N_", "decimal", "decimals_of", "number", "percent", "date"]
