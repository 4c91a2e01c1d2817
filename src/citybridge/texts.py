"""Text shown to readers in every edition's language, from one execution.

A chapter is executed once per build, but the book has three editions. So
everything a chapter shows is drawn once per language while the kernel
runs: every display helper (:func:`citybridge.notebook.table`, ``say``,
``map_figure``, :func:`citybridge.charts.show`, the exercises' feedback…)
is :func:`multilingual`; it renders its output under each language of
:func:`output_languages` and keeps the other languages' renderings in the
output's metadata (``citybridge.i18n``). Reading an executed notebook for
the Spanish edition, :mod:`citybridge.notebook_i18n` swaps them in. The
computations are shared; only the presentation is repeated.

Notebooks mark what they show with :class:`Text` (imported as ``_``): a
message that is translated and formatted *when it is shown*, in the
language in force then::

    nb.say(_("{n:,} comunas with a census population of {pop:,.0f}.", n=n, pop=pop))

Numbers in placeholders are written in the conventions of the language
(``7.400.741`` and ``20,7`` in Chile) by :class:`LocaleFormatter`, from the
same format specifications Python uses (``{x:,.1f}``, ``{s:.0%}``), so a
translator moves a placeholder and never touches how its number is written.

Strings already built (a figure's axis titles, a map's legend) are
translated by exact look-up in the package catalog (:func:`translate`):
the English text is the message id, as gettext does everywhere.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import string
from typing import Any, Callable, Iterable, Iterator, TypeVar

from . import i18n
from .errors import CitybridgeError

#: Environment variable naming the languages a build draws every output in
#: (comma-separated codes, the first one stored as the output itself). Set by
#: ``citybridge build`` for the book's editions; unset, a kernel draws in the
#: language in force only (``make lab lang=es``: Spanish).
EDITIONS_ENV = "CITYBRIDGE_EDITIONS"

#: Metadata key (under ``citybridge``) of an output's other languages.
VARIANTS_KEY = "i18n"


def editions_of(value: str | Iterable[str], *, what: str = "editions") -> tuple[str, ...]:
    """The languages of a list of editions (``"en,es"`` or ``("en", "es")``), English
    first when present, each once.

    Raises
    ------
    CitybridgeError
        When one is not a language of the workbook, or none is given.
    """
    parts = [p.strip() for p in (value.split(",") if isinstance(value, str) else value) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        code = part if part in i18n.LANGUAGES else None
        if code is None:
            raise CitybridgeError(f"{what}: {part!r} is not a language of the workbook; "
                                  f"use codes among {', '.join(i18n.LANGUAGES)} (e.g. en,es,zh)")
        if code not in out:
            out.append(code)
    if not out:
        raise CitybridgeError(f"{what}: name at least one language among {', '.join(i18n.LANGUAGES)}")
    return tuple(sorted(out, key=lambda c: c != i18n.SOURCE_LANGUAGE))


@contextlib.contextmanager
def drawing_languages(languages: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """Within the block, outputs (and the kernels started in it) are drawn in ``languages``
    (:data:`EDITIONS_ENV`); the environment is as it was afterwards."""
    langs = editions_of(tuple(languages), what=EDITIONS_ENV)
    before = os.environ.get(EDITIONS_ENV)
    os.environ[EDITIONS_ENV] = ",".join(langs)
    try:
        yield langs
    finally:
        if before is None:
            os.environ.pop(EDITIONS_ENV, None)
        else:
            os.environ[EDITIONS_ENV] = before


def build_languages() -> list[str]:
    """The languages a build's chapters draw their outputs in: those ``citybridge build`` set
    (:data:`EDITIONS_ENV`), else every language of the workbook (``citybridge run``)."""
    return output_languages() if os.environ.get(EDITIONS_ENV, "").strip() else list(i18n.LANGUAGES)


def output_languages() -> list[str]:
    """The languages outputs are drawn in: :data:`EDITIONS_ENV`, else the one in force.

    Raises
    ------
    CitybridgeError
        When :data:`EDITIONS_ENV` names a language the workbook does not have.
    """
    value = os.environ.get(EDITIONS_ENV, "").strip()
    if not value:
        return [i18n.current_language()]
    return list(editions_of(value, what=EDITIONS_ENV))


class LocaleFormatter(string.Formatter):
    """``str.format`` with numbers written in the conventions of the language in force.

    A number formatted with a fixed-point, integer or percent specification
    (``,.1f``, ``.0f``, ``,``, ``d``, ``.1%``) is written by
    :func:`citybridge.i18n.decimal` or :func:`~citybridge.i18n.percent`
    (Chile: ``7.400.741``, ``20,7``, ``82,1%``); a :class:`Text` in a
    placeholder is translated; anything else is formatted as Python does.
    """

    _SPEC = re.compile(r"^(?P<comma>,?)(?:\.(?P<digits>\d+))?(?P<kind>[fdg%]?)$")

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Text):
            value = str(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return super().format_field(value, format_spec)
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        m = self._SPEC.match(format_spec)
        if m is None:
            return super().format_field(value, format_spec)
        kind, comma = m.group("kind"), bool(m.group("comma"))
        if kind == "%":
            return i18n.percent(value * 100, int(m.group("digits") or 6))
        if kind == "d" or (not kind and isinstance(value, int)):
            return i18n.decimal(value, 0, grouping=comma)
        if kind == "f":
            return i18n.decimal(value, int(m.group("digits") or 6), grouping=comma)
        # "g": significant digits; "{x}" or "{x:,}" of a float: Python's shortest repr. Either way the
        # decimals Python writes, with the language's separators
        written = format(float(value), f".{m.group('digits') or 6}g") if kind == "g" else repr(float(value))
        digits = i18n.decimals_of(written)
        if digits is None:
            return super().format_field(value, format_spec)
        return i18n.decimal(value, digits, grouping=comma)


FORMATTER = LocaleFormatter()


def resolve(value: Any) -> Any:
    """``value`` as shown now: a :class:`Text` (or a :class:`TextStr`'s text) becomes its
    string in the language in force."""
    if isinstance(value, TextStr) and value.text is not None:
        return str(value.text)
    return str(value) if isinstance(value, Text) else value


class Text:
    """A message translated and formatted when it is shown (see the module's help).

    Parameters
    ----------
    msgid
        The English message; ``{name}`` placeholders with optional format
        specifications. It is the key of the catalogs (extracted by Babel
        under the name ``_`` or ``Text``).
    **values
        The placeholders' values: numbers (written in the language's
        conventions), strings (shown as given: names of places, routes),
        or :class:`Text` (translated too).
    """

    __slots__ = ("msgid", "values", "_parts", "_call")

    def __init__(self, msgid: str, /, **values: Any) -> None:
        self.msgid = str(msgid)
        self.values = values
        self._parts: tuple | None = None
        self._call: tuple | None = None

    @classmethod
    def of(cls, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Text:
        """The text ``fn(*args, **kwargs)`` returns, called when shown (in the language
        in force then): for the package's functions that write sentences."""
        t = cls("")
        t._call = (fn, args, kwargs)
        return t

    @classmethod
    def join(cls, parts: Iterable[Any], sep: str = "") -> Text:
        """Several pieces (strings or texts) shown one after another, each translated."""
        t = cls("")
        t._parts = (sep, tuple(parts))
        return t

    def __str__(self) -> str:
        if self._call is not None:
            fn, args, kwargs = self._call
            return str(resolve(fn(*args, **kwargs)))
        if self._parts is not None:
            sep, parts = self._parts
            return str(resolve(sep)).join(str(resolve(p)) for p in parts)
        message = i18n.gettext(self.msgid) if self.msgid else ""
        if not self.values:
            return message
        try:
            return FORMATTER.format(message, **self.values)
        except (KeyError, IndexError, ValueError):  # a broken translation must not break a page
            return FORMATTER.format(self.msgid, **self.values)

    def __add__(self, other: Any) -> Text:
        return Text.join([self, other])

    def __radd__(self, other: Any) -> Text:
        return Text.join([other, self])

    def __repr__(self) -> str:
        if self._call is not None:
            return f"Text.of({getattr(self._call[0], '__name__', self._call[0])!s})"
        return f"Text({self.msgid!r})" if self._parts is None else f"Text.join({self._parts[1]!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def spec(self) -> Any:
        """A JSON form that :meth:`from_spec` reads back (for outputs drawn again at build
        time); a text from a call is kept as drawn in English."""
        if self._call is not None:
            with i18n.use_language(i18n.SOURCE_LANGUAGE):
                return str(self)
        if self._parts is not None:
            return {"join": [p.spec() if isinstance(p, Text) else p for p in self._parts[1]],
                    "sep": self._parts[0]}
        return {"msgid": self.msgid, "values": {k: (v.spec() if isinstance(v, Text) else v)
                                               for k, v in self.values.items()}}

    @classmethod
    def from_spec(cls, spec: Any) -> Any:
        """The text (or plain value) a :meth:`spec` describes."""
        if isinstance(spec, dict) and "join" in spec:
            return cls.join([cls.from_spec(p) for p in spec["join"]], spec.get("sep", ""))
        if isinstance(spec, dict) and "msgid" in spec:
            return cls(spec["msgid"], **{k: cls.from_spec(v) for k, v in spec.get("values", {}).items()})
        return spec


class TextStr(str):
    """A :class:`Text` that is also a plain string: its English wording, for code that stores or
    searches it (a service day's notes are cached and written to JSON), carrying the text that
    :func:`resolve` shows in the language in force (the notes list and the data check).

    ``TextStr(Text("{n:,} stops ...", n=3))`` equals ``"3 stops ..."``; ``.text`` is the
    :class:`Text` (None for a plain string read back without it).
    """

    text: Text | None

    def __new__(cls, value: Text | str) -> TextStr:
        if isinstance(value, Text):
            with i18n.use_language(i18n.SOURCE_LANGUAGE):
                obj = super().__new__(cls, str(value))
            obj.text = value
            return obj
        obj = super().__new__(cls, value)
        obj.text = None  # pickle restores the text after
        return obj


def tr(msgid: str, /, **values: Any) -> str:
    """``msgid`` translated into the language in force and formatted now (see :class:`Text`)."""
    return str(Text(msgid, **values))


def translate(value: str) -> str:
    """An already-built string (an axis title, a legend entry) in the language in
    force, when the catalog has it as a message; unchanged otherwise."""
    if not isinstance(value, str) or not value.strip():
        return value
    return i18n.gettext(value)


_rendering: contextvars.ContextVar[bool] = contextvars.ContextVar("citybridge_rendering", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def each_language(render: Callable[[], Any]) -> dict[str, Any]:
    """``render()`` called once in each of :func:`output_languages`, by language
    (only the language in force when already inside such a call)."""
    if _rendering.get():
        return {i18n.current_language(): render()}
    token = _rendering.set(True)
    try:
        out = {}
        for lang in output_languages():
            with i18n.use_language(lang):
                out[lang] = render()
        return out
    finally:
        _rendering.reset(token)


def multilingual(fn: F) -> F:
    """Make a display helper draw its output in every language of :func:`output_languages`.

    ``fn`` returns an object with ``body``, ``text`` and ``variants``
    (:class:`citybridge.notebook.HTML`); the first language's drawing is
    returned, carrying the others in ``variants``.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        drawn = each_language(lambda: fn(*args, **kwargs))
        langs = list(drawn)
        first = drawn[langs[0]]
        if len(langs) > 1:
            first.variants = {lang: drawn[lang].bundle_data() for lang in langs[1:]}
        return first

    return wrapper  # type: ignore[return-value]


#: Short name of :class:`Text` for notebooks (``T("...")``; not ``_``, which
#: IPython keeps for the last result).
T = Text

__all__ = ["EDITIONS_ENV", "VARIANTS_KEY", "editions_of", "drawing_languages", "build_languages", "output_languages", "LocaleFormatter", "FORMATTER",
           "resolve", "Text", "TextStr", "T", "tr", "translate", "each_language", "multilingual"]
