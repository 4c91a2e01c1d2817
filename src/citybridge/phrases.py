"""Phrases the package writes into stored tables, translated when they are shown.

A city's KPI board is computed once and stored as a build artefact, in
English: its ``kpi``, ``unit``, ``theme``, ``definition`` and ``source``
cells are plain strings. The chapters of every edition read the same board,
so those cells are translated when a table shows them
(:func:`citybridge.notebook.table` through :func:`translate_phrase`):

* a cell that is a catalog message (``"trips per day"``, marked ``N_`` where
  it is written) is looked up as it is;
* a cell written from one of :data:`PATTERNS` (``"{city} GTFS ({file}),
  service day {date}"``) is recognised, and its translation is formatted with
  the same values (each value translated in turn when the catalog has it;
  numbers written in the language's conventions);
* a cell of several statements joined by ``"; "`` (a definition and its
  caveats, a source and the data status) is translated statement by statement.

Anything else (a name, a file, the city's own prose) is shown as written.
"""
from __future__ import annotations

import functools
import re

from . import i18n
from .i18n import N_

#: KPI source lines (``citybridge.kpi``): ``"; "``-joined statements.
SOURCE_LINE = N_("{city} GTFS ({file}), service day {date}")
DATA_STATUS = N_("data status: {status}")
POPULATION_SOURCE = N_("population: {source}")
NOT_COMPUTED = N_("not computed: {reason}")
THEME_FAILED = N_("{theme} KPIs")
MEASURES_FEED_ONLY = N_("measures the network in the feed only: {gaps}")
NO_SOLID_SOURCE = N_("{definition} (no solid source for {parameters})")
LACKS_PARAMETERS = N_("not computed where city.yml lacks {parameters}")
SOME_CLASSES_ASSUMED = N_("{definition} (some fleet classes assumed)")
SECTION_LOSS = N_("{section}: people who would lose frequent transit if this section alone closed ({rule})")
CAPACITIES = N_("capacities: {source}")
REALTIME_SOURCE = N_("realtime: {source}")
CAPTURED = N_("captured {when}")
NOT_COMPARABLE_CITY = N_("{city} ({status}: not comparable)")
PER_100K = N_("{kpi} per 100k inhabitants")
PER_KM2 = N_("{kpi} per km² urban area")
PER_100K_UNIT = N_("{unit} per 100,000 people")
PER_KM2_UNIT = N_("{unit} per km²")
PER_100K_DEFINITION = N_("{kpi} ÷ census population × 100,000")
PER_KM2_DEFINITION = N_("{kpi} ÷ area of the urban comunas/districts")
FLEET_SHARE_BASIS = N_("bus-km split by the fleet's electric share as of {years} ({electric} of {total} buses; "
                       "the feed does not say which bus runs which trip)")
CATCHMENT = N_("{low} m of a bus/tram stop or {high} m of a metro/rail/ferry station")
CATCHMENT_FILTERED = N_("{catchment}, counting stops with at least {trips} departures/h one way in {period} ({start}–{end})")
FINER_LAYER = N_("finer population layer ({layer}), scaled to census totals")
BOARD_FAILED = N_("its KPI board could not be computed ({error})")
FOLDER_UNREADABLE = N_("a file of its folder cannot be read ({error})")
FREQUENT_SHARE_DEFINITION = N_("routes with a mean AM-peak headway of {minutes} min or better, in one direction at least")
DISTANCE = N_("{distance} distance")
DISTANCE_OVERSTATES = N_("{distance} distance (overstates access against the UN's walking distance along streets)")
#: Definitions of the observed-operations KPIs (:func:`citybridge.observed_view.summary`).
OBS_SEEN = N_("distinct vehicles in a snapshot, mean over the snapshots")
OBS_ON_NETWORK = N_("vehicles with a fresh fix within {distance} m of a route line, mean over the snapshots")
OBS_IN_PROGRESS = N_("trips of the scheduled {date} in progress at the snapshots' times, mean")
OBS_MATCHED = N_("within {distance} m of a route-direction line (geometry only)")
OBS_OBSERVED_SPEED = N_("median over the street segments with observed moves and a scheduled run at that hour")
OBS_SCHEDULED_SPEED = N_("median scheduled speed of the same segments in the same hour")
OBS_BUNCHED = N_("moving buses of one service and direction less than {distance} m apart")
OBS_STALE = N_("GPS fix older than {minutes} min at capture")
OBS_ON_TIME = N_("from {early} min early to {late} min late")

#: Every pattern :func:`translate_phrase` recognises.
PATTERNS = (SOURCE_LINE, DATA_STATUS, POPULATION_SOURCE, NOT_COMPUTED, THEME_FAILED, MEASURES_FEED_ONLY,
            NO_SOLID_SOURCE, LACKS_PARAMETERS, SOME_CLASSES_ASSUMED, SECTION_LOSS, CAPACITIES, REALTIME_SOURCE,
            CAPTURED, NOT_COMPARABLE_CITY, PER_100K, PER_KM2, PER_100K_UNIT, PER_KM2_UNIT, PER_100K_DEFINITION,
            PER_KM2_DEFINITION, FLEET_SHARE_BASIS, FREQUENT_SHARE_DEFINITION, DISTANCE, DISTANCE_OVERSTATES, BOARD_FAILED,
            FOLDER_UNREADABLE, CATCHMENT, CATCHMENT_FILTERED, FINER_LAYER, OBS_ON_NETWORK, OBS_IN_PROGRESS,
            OBS_MATCHED, OBS_BUNCHED, OBS_STALE, OBS_ON_TIME)

#: Words stored in KPI tables that read as labels (translated when shown).
STATUS_WORDS = (N_("official"), N_("reconstructed"), N_("illustrative"))
#: Classes of a district and scopes of a coverage table (:mod:`citybridge.access`), shown translated.
AREA_WORDS = (N_("urban"), N_("rural"), N_("unclassified"), N_("city"))
#: The access assumptions a KPI definition names (:func:`citybridge.access.assumption_text`).
ASSUMPTION_WORDS = (N_("straight line"), N_("areal weighting (even spread over each polygon)"))

_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?|-?\d+(?:\.\d+)?")
_GTFS_DATE = re.compile(r"(19|20)\d{6}")


@functools.lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", pattern)
    # a value never spans two statements ("; "): "a; b" is translated statement by statement
    rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>(?:(?!; ).)+?)" for i, p in enumerate(parts))
    return re.compile(rx, re.S)


def _value(text: str) -> str:
    """A value taken from an English phrase, as shown in the language in force."""
    t = text.strip()
    if _GTFS_DATE.fullmatch(t):
        return f"{t[:4]}-{t[4:6]}-{t[6:]}"
    if _NUMBER.fullmatch(t):
        return i18n.decimal(float(t.replace(",", "")), i18n.decimals_of(t))
    return translate_phrase(t)


def _one(text: str) -> str | None:
    """``text`` translated as one message or one pattern; None when neither fits."""
    exact = i18n.gettext(text)
    if exact != text:
        return exact
    for pattern in PATTERNS:
        m = _regex(pattern).fullmatch(text)
        if m:
            values = {k: _value(v) for k, v in m.groupdict().items()}
            try:
                return i18n.gettext(pattern).format(**values)
            except (KeyError, IndexError, ValueError):
                return text
    return None


def statement_separator() -> str:
    """What joins statements in the language in force: ``"; "`` (Chinese: ``"；"``)."""
    return "；" if i18n.current_language() == "zh" else "; "


#: The prose of the cities' profiles in other languages: {English text: {lang: text}}
#: (``translations`` of city.yml, see :func:`register_prose`).
_PROSE: dict[str, dict[str, str]] = {}


def register_prose(profile) -> None:
    """Remember the translated prose of a city profile (``translations`` in city.yml), so
    that a stored phrase quoting it (a KPI definition naming the city's coverage
    gaps) shows it in the reader's language."""
    for lang, fields in getattr(profile, "translations", {}).items():
        for field, text in fields.items():
            if field == "phrases":
                for english, own in text.items():
                    if str(english).strip() and own:
                        _PROSE.setdefault(str(english).strip(), {})[lang] = str(own)
                continue
            english = str(getattr(profile, field, "") or "").strip()
            if english and text:
                _PROSE.setdefault(english, {})[lang] = text


def city_prose(text: str) -> str:
    """``text`` with every piece of a city's prose it quotes (``translations`` of
    city.yml, see :func:`register_prose`) in the language in force; longer pieces first."""
    lang = i18n.current_language()
    if not isinstance(text, str) or lang == i18n.SOURCE_LANGUAGE or not _PROSE:
        return text
    for english in sorted((e for e, own in _PROSE.items() if lang in own and e in text), key=len, reverse=True):
        text = text.replace(english, _PROSE[english][lang])
    return text


def list_separator() -> str:
    """What separates the items of a list in the language in force: ``", "`` (Chinese: ``"、"``)."""
    return "、" if i18n.current_language() == "zh" else ", "


def translate_phrase(text: str) -> str:
    """A phrase stored in English, in the language in force (see the module's help).

    The cities' own prose quoted in it is shown in their translation
    (:func:`register_prose`); other parts that are neither catalog messages
    nor :data:`PATTERNS` (names, files) are returned as written.
    """
    if not isinstance(text, str) or not text.strip() or i18n.current_language() == i18n.SOURCE_LANGUAGE:
        return text
    lang, quoted = i18n.current_language(), {}
    for english, own in _PROSE.items():
        if lang in own and english in text:
            key = f"\x00{len(quoted)}\x00"
            text, quoted[key] = text.replace(english, key), own[lang]
    if not quoted:
        return _statements(text)
    out = _statements(text)
    for key, own in quoted.items():
        out = out.replace(key, own)
    return out


def _statements(text: str) -> str:
    whole = _one(text)
    if whole is not None:
        return whole
    pieces = text.split("; ")
    if len(pieces) == 1:
        return text
    out, i = [], 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):  # the longest run of statements that reads as one
            done = _one("; ".join(pieces[i:j]))
            if done is not None:
                out.append(done)
                i = j
                break
        else:
            out.append(pieces[i])
            i += 1
    return statement_separator().join(out)


__all__ = ["PATTERNS", "STATUS_WORDS", "translate_phrase", "register_prose", "city_prose", "statement_separator",
           "list_separator", "SOURCE_LINE", "DATA_STATUS", "POPULATION_SOURCE", "NOT_COMPUTED", "THEME_FAILED",
           "MEASURES_FEED_ONLY", "NO_SOLID_SOURCE", "LACKS_PARAMETERS", "SOME_CLASSES_ASSUMED", "SECTION_LOSS",
           "CAPACITIES", "REALTIME_SOURCE", "CAPTURED", "NOT_COMPARABLE_CITY", "PER_100K", "PER_KM2",
           "PER_100K_UNIT", "PER_KM2_UNIT", "PER_100K_DEFINITION", "PER_KM2_DEFINITION", "FLEET_SHARE_BASIS",
           "FREQUENT_SHARE_DEFINITION", "BOARD_FAILED", "FOLDER_UNREADABLE", "CATCHMENT", "CATCHMENT_FILTERED", "FINER_LAYER",
           "AREA_WORDS", "ASSUMPTION_WORDS", "DISTANCE", "DISTANCE_OVERSTATES", "OBS_SEEN", "OBS_ON_NETWORK",
           "OBS_IN_PROGRESS", "OBS_MATCHED", "OBS_OBSERVED_SPEED", "OBS_SCHEDULED_SPEED", "OBS_BUNCHED", "OBS_STALE",
           "OBS_ON_TIME"]
