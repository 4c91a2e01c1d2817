"""Small display helpers that keep the notebooks thin.

Everything shown goes through HTML escaping: names from a feed can never
inject markup into a page.
"""
from __future__ import annotations

import html
import numbers

import pandas as pd

from . import i18n
from .city import City
from .i18n import N_
from .texts import VARIANTS_KEY, Text, multilingual, resolve, tr


class HTML:
    """Minimal rich-display object (text/html with a plain-text fallback).

    ``meta`` becomes the output's metadata in the executed notebook (the
    side-by-side tables carry there what the build needs to draw them again,
    see :mod:`citybridge.session`).
    """

    def __init__(self, body: str, text: str = "", meta: dict | None = None):
        self.body = body
        self.text = text or "(see the HTML output)"
        self.meta = meta
        #: The same output drawn in the book's other languages: {lang: data by MIME type}
        #: (see :func:`citybridge.texts.multilingual`).
        self.variants: dict[str, dict] = {}

    def bundle_data(self) -> dict:
        """The output's data by MIME type."""
        return {"text/html": self.body, "text/plain": self.text}

    def bundle(self) -> tuple[dict, dict]:
        """The output as a notebook stores it: (data by MIME type, metadata).

        The other languages' drawings go in ``metadata.citybridge.i18n``."""
        meta = dict(self.meta or {})
        if self.variants:
            cb = dict(meta.get("citybridge", {}))
            cb[VARIANTS_KEY] = self.variants
            meta["citybridge"] = cb
        return self.bundle_data(), meta

    def _repr_mimebundle_(self, include=None, exclude=None):
        data, meta = self.bundle()
        return (data, meta) if meta else data


def status_message(city: City) -> tuple[str, str, str]:
    """The data-status notice of a city: (status, title, text), in the language in force.

    ``official`` names the feed; ``reconstructed`` says where the network comes
    from and what was assumed; ``illustrative`` warns that figures describe
    teaching data, not the real city. The same words serve notebooks, the
    book's Markdown pages and the KPI tables.
    """
    st = city.status
    assumptions = city.text("data_assumptions")
    if st == "illustrative":
        title = tr("Illustrative sample data")
        text = tr("The network of {city} shown here is teaching data built from public facts (station "
                  "positions, published headways, census counts), not the operator's schedule. Figures describe "
                  "the sample, not the real city, and no lesson about the real city is drawn from them.",
                  city=city.name)
        if assumptions:
            text += " " + assumptions
    elif st == "reconstructed":
        title = tr("Reconstructed from official data")
        src = (city.text("data_source") or tr("see Data and sources")).strip().rstrip(".。")
        text = tr("The network of {city} is rebuilt from the operator's official data: {source}.",
                  city=city.name, source=src) + (" " + assumptions if assumptions else "")
        text = text.strip()
    else:
        title = tr("Official data")
        source = city.text("data_source")
        text = (tr("The network of {city} is the operator's feed as published: {source} ({file}).",
                   city=city.name, source=source, file=city.gtfs_path.name) if source else
                tr("The network of {city} is the operator's feed as published ({file}).",
                   city=city.name, file=city.gtfs_path.name))
    return st, title, text


@multilingual
def banner(city: City) -> HTML:
    """The visible data-status banner of every page: official, reconstructed or illustrative."""
    st, title, text = status_message(city)
    kind = {"illustrative": "warning", "reconstructed": "note", "official": "note"}[st]
    body = (f'<div class="admonition {kind} cb-status-banner cb-status-{st}'
            f'{" cb-sample-banner" if st == "illustrative" else ""}" role="note">'
            f'<p class="admonition-title">{html.escape(title)}</p>'
            f"<p>{html.escape(text)}</p></div>")
    return HTML(body, f"{title.upper()}: {text}")


def source_line(city: City, day=None, extra: str | Text = "") -> Text:
    """'<city> GTFS (file), service day …' plus the data status, shown in the language in force."""
    parts: list = [Text("{city} GTFS feed ({file})", city=city.name, file=city.gtfs_path.name)]
    if day is not None:
        d = day.date
        iso = f"{d[:4]}-{d[4:6]}-{d[6:]}"
        parts.append(Text("service day {date}", date=iso))
    if extra:
        parts.append(extra)
    parts.append(Text({"illustrative": N_("illustrative sample data (see Data and sources)"),
                       "reconstructed": N_("reconstructed from official data (see Data and sources)"),
                       "official": N_("official feed")}[city.status]))
    return Text.join(parts, "; ")


#: Code identifiers that readers never see: where one appears in a computed
#: sentence, a caption, a table cell or header, its plain-language label
#: (with its unit) is shown instead (:func:`plain`). Tested on the built book.
IDENTIFIERS = {
    "share_covered": N_("population covered (%)"),
    "dist_to_bike_m": N_("distance to the nearest bike station (m)"),
    "dist_to_stop_m": N_("distance to the nearest stop (m)"),
    "am_peak": N_("AM peak"),
    "pm_peak": N_("PM peak"),
    "electric_share": N_("electric share of bus-km"),
    "diesel_bus_litres_per_100km": N_("diesel bus consumption (L/100 km)"),
    "ebus_kwh_per_km": N_("electric bus consumption (kWh/km)"),
    "diesel_kgco2_per_litre": N_("diesel emission factor (kg CO2/L)"),
    "grid_kgco2_per_kwh": N_("grid emission factor (kg CO2/kWh)"),
    "car_kgco2_per_km": N_("car emission factor (kg CO2/km)"),
    "mean_headway_min": N_("mean headway (min)"),
    "median_headway_min": N_("median headway (min)"),
    "pop_covered": N_("people covered"),
    "pop_uncovered": N_("people not covered"),
    "trips_per_hour": N_("trips per hour"),
    "peak_vehicles": N_("peak vehicles"),
    "span_hours": N_("span of service (h)"),
    "service_km": N_("service-km (km)"),
    "service_hours": N_("service-hours (h)"),
    "vehicle_km_year": N_("vehicle-km per year (km)"),
    "speed_kmh": N_("speed (km/h)"),
}

#: Plain-language headers (with units) of the columns that tables show.
LABELS = {
    **IDENTIFIERS,
    "share_covered": N_("covered (%)"),
    "area_class": N_("area"),
    "agency_name": N_("operator"), "agency_timezone": N_("time zone"), "agency_url": N_("web address"),
    "bus_m": N_("nearest bus stop (m)"), "metro_m": N_("nearest metro station (m)"),
    "distance_km": N_("distance (km)"), "distance_m": N_("distance (m)"), "district_id": N_("district code"),
    "energy_unit": N_("energy unit"), "first_departure": N_("first departure"), "last_departure": N_("last departure"),
    "from_stop_id": N_("from stop (id)"), "from_stop_name": N_("from stop"), "to_stop_id": N_("to stop (id)"),
    "to_stop_name": N_("to stop"), "high_tco2": N_("high case (t CO2)"), "low_tco2": N_("low case (t CO2)"),
    "population_assumption": N_("population assumption"), "route_id": N_("route id"), "route_km": N_("route length (km)"),
    "route_long_name": N_("route name"), "route_short_name": N_("route"), "run_s": N_("running time (s)"),
    "size_kb": N_("size (kB)"), "speed_kmh_max": N_("fastest (km/h)"), "speed_kmh_min": N_("slowest (km/h)"),
    "stop_id": N_("stop id"), "stop_name": N_("stop"), "swing_pct": N_("swing (%)"), "swing_tco2": N_("swing (t CO2)"),
    "tco2": N_("CO2 (t)"), "to_bus": N_("to bus"), "to_metro": N_("to metro"), "vehicle_energy": N_("energy"),
    "vehicle_hours": N_("vehicle-hours (h)"), "vehicle_km": N_("vehicle-km (km)"), "kpi": N_("KPI"),
    "trips_one_way": N_("trips, busier direction"), "departures_one_way": N_("departures, busier direction"),
    "weekday_km": N_("weekday (km)"), "saturday_km": N_("Saturday (km)"), "sunday_km": N_("Sunday (km)"),
    "population": N_("population"), "trips": N_("trips"), "routes": N_("routes"), "stops": N_("stops"),
    # network and service
    "mode": N_("mode"), "stations": N_("stations"), "period": N_("period"), "start": N_("start"), "end": N_("end"),
    "minutes": N_("minutes"),
    # speed, carbon, air, multimodal
    "hours": N_("hours (h)"), "segments": N_("segments"),
    "indicator": N_("indicator"), "value": N_("value"), "unit": N_("unit"), "note": N_("note"),
    "basis": N_("basis"), "parameter": N_("parameter"), "year": N_("year"), "source": N_("source"),
    "solid source": N_("solid source"), "input": N_("input"), "base": N_("base"),
    "class": N_("class"), "share of bus-km (%)": N_("share of bus-km (%)"), "range (%)": N_("range (%)"),
    "status": N_("status"), "source and note": N_("source and note"), "share_pct": N_("share of bus-km (%)"),
    "assumed": N_("assumed"), "pollutant": N_("pollutant"), "valid_kmh": N_("valid speeds (km/h)"),
    "at_10_kmh": N_("at 10 km/h"), "at_20_kmh": N_("at 20 km/h"), "at_30_kmh": N_("at 30 km/h"),
    "tsp": N_("TSP (g/km)"), "pm10": N_("PM10 (g/km)"), "pm25": N_("PM2.5 (g/km)"),
    "t_per_day": N_("t per day"), "t_per_year": N_("t per year"), "g_per_vehicle_km": N_("g per vehicle-km"),
    "low_t_per_day": N_("low case (t per day)"), "high_t_per_day": N_("high case (t per day)"),
    "nox_kg": N_("NOx (kg)"), "pm_exhaust_kg": N_("exhaust PM (kg)"), "pm25_nonexhaust_kg": N_("non-exhaust PM2.5 (kg)"),
    "pm25_kg": N_("PM2.5 (kg)"), "co_kg": N_("CO (kg)"), "nox_g_per_km": N_("NOx (g/km)"),
    "pm25_g_per_km": N_("PM2.5 (g/km)"), "nox_t_per_year": N_("NOx (t/year)"), "pm25_t_per_year": N_("PM2.5 (t/year)"),
    "corridor": N_("corridor"), "length_km": N_("length (km)"), "trips_per_day": N_("trips per day"),
    "main_routes": N_("main routes"), "combustion_km": N_("combustion bus-km (km)"),
    "buses_to_convert": N_("buses to convert"), "avoided_nox_g": N_("NOx avoided (g)"),
    "avoided_pm_exhaust_g": N_("exhaust PM avoided (g)"), "remaining_pm25_g": N_("PM2.5 remaining (g)"),
    "avoided_nox_g_per_bus": N_("NOx avoided per bus (g)"), "avoided_pm_exhaust_g_per_bus":
    N_("exhaust PM avoided per bus (g)"), "avoided_nox_g_per_km": N_("NOx avoided per km (g)"), "rank": N_("rank"),
    "now": N_("now"), "scenario": N_("scenario"), "change_pct": N_("change (%)"), "station": N_("station"),
    "comuna": N_("comuna"), "latitude": N_("latitude"), "longitude": N_("longitude"),
    "pm25_2022": N_("PM2.5 2022 (µg/m³)"), "pm25_2023": N_("PM2.5 2023 (µg/m³)"), "pm25_2024": N_("PM2.5 2024 (µg/m³)"),
    "mean_2022_2024": N_("PM2.5 mean 2022–2024 (µg/m³)"), "standard_ugm3": N_("annual standard (µg/m³)"),
    "above_standard": N_("above the standard"), "piers": N_("piers"),
    "early": N_("early"), "midday": N_("midday"), "evening": N_("evening"), "night": N_("night"),
    # operations, observed, resilience
    "scope": N_("scope"), "city": N_("city"), "definition": N_("definition"),
    "theme": N_("theme"), "trips_removed": N_("trips removed"), "trips_cut": N_("trips cut"),
    "stations_closed": N_("stations closed"), "routes_affected": N_("routes affected"),
    "vehicle_km_removed": N_("vehicle-km removed (km)"), "lose_access": N_("people losing all access"),
    "lose_frequent": N_("people losing frequent transit"), "covered_before": N_("covered before (people)"),
    "covered_after": N_("covered after (people)"), "frequent_before": N_("near frequent transit before (people)"),
    "frequent_after": N_("near frequent transit after (people)"),
    "share_lose_access": N_("share losing all access (%)"),
    "share_lose_frequent": N_("share losing frequent transit (%)"), "line": N_("line"),
    "from_name": N_("from station"), "to_name": N_("to station"),
    "metro_trains_per_hour": N_("metro trains per hour"), "metro_capacity_per_hour": N_("metro capacity (pax/h)"),
    "parallel_routes": N_("parallel bus routes"), "parallel_buses_per_hour": N_("parallel buses per hour"),
    "bus_capacity_per_hour": N_("bus capacity (pax/h)"), "shortfall_per_hour": N_("shortfall (pax/h)"),
    "bridge_buses_per_hour": N_("bridge buses per hour"), "kind": N_("kind"),
    "label": N_("name"), "per_hour": N_("vehicles per hour"),
    "stations_losing_frequent": N_("stations losing frequent service"),
    "pop_lose_frequent": N_("people losing frequent transit"),
    # trainer path (chapter 00: inputs, findings, feed inventory)
    "severity": N_("severity"), "file": N_("file"), "column": N_("column"), "row": N_("row"),
    "message": N_("message"), "unlocks": N_("unlocks"),
    "rows": N_("rows"), "columns": N_("columns"),
    # comparison, KPIs, exercises, build report
    "published": N_("published"),
    "published_source": N_("published source"), "difference": N_("difference"), "figure": N_("figure"),
    "cities": N_("cities"), "reason": N_("reason"), "distance": N_("distance"),
}

#: Columns that hold counts: always shown as whole numbers.
COUNT_COLUMNS = {"trips", "routes", "stops", "stations", "vehicles", "peak_vehicles", "population",
                 "pop_covered", "pop_uncovered", "departures", "trips_one_way", "departures_one_way",
                 "piers", "districts", "rows", "warnings", "errors", "n", "window_trips", "num_trips"}
#: Columns that hold input values (parameters): shown at the precision they
#: were given (0.343 stays 0.343, not 0.3).
PRECISE_COLUMNS = {"base", "value used", "value_used", "parameter value"}
#: Columns that hold a share between 0 and 1: shown as a percentage.
SHARE_COLUMNS = {"share_covered", "electric_share", "share"}

_IDENT_RE = None


def plain(text: str | Text) -> str:
    """``text`` (translated when a :class:`~citybridge.texts.Text`) with every code
    identifier of :data:`IDENTIFIERS` replaced by its label in the language in
    force, and GTFS dates after "day" or "date" (``20260105``) written as the
    book writes dates everywhere (``2026-01-05``)."""
    import re

    global _IDENT_RE
    if _IDENT_RE is None:
        # ASCII word boundaries: an identifier right after a Chinese character is still one
        _IDENT_RE = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(sorted(map(re.escape, IDENTIFIERS), key=len,
                                                                       reverse=True)) + r")(?![A-Za-z0-9_])")
    from .phrases import city_prose

    text = _IDENT_RE.sub(lambda m: i18n.gettext(IDENTIFIERS[m.group(1)]), city_prose(str(resolve(text))))
    return re.sub(r"\b(day|date) (\d{4})(\d{2})(\d{2})\b", r"\1 \2-\3-\4", text)


def header(column: object) -> str:
    """A plain-language header for a column name, in the language in force (a code name never shows)."""
    from .phrases import translate_phrase

    c = str(resolve(column))
    if c in LABELS:
        return i18n.gettext(LABELS[c])
    return plain(c).replace("_", " ") if "_" in c else translate_phrase(c)


def period_label(period: str) -> str:
    """A period key of city.yml as people write it (``am_peak`` → ``AM peak``), in the language in force."""
    return i18n.gettext(IDENTIFIERS.get(period, str(period).replace("_", " ")))


def _whole(v) -> bool:
    try:
        return float(v).is_integer()
    except (TypeError, ValueError):
        return False


def _fixed(digits: int):
    return lambda v: i18n.decimal(v, digits)


def number_formatter(column: str, values: pd.Series, float_format: str = "{:,.1f}"):
    """How one float column is written in a table, in the language in force.

    Counts are whole numbers (``7,400,741``, not ``7,400,741.00``; Chile
    ``7.400.741``); input values (:data:`PRECISE_COLUMNS`) keep the precision
    they were given; shares (0–1) are percentages with a % sign; distances in
    metres and seconds are whole; a column whose values are all whole numbers
    shows no decimals; otherwise whole numbers and numbers from 1,000 up show
    no decimals and the others the decimals of ``float_format`` (in a column
    of mixed units, such as KPI values, this is decided value by value).
    """
    import re

    name = str(column)
    finite = values.dropna()
    m = re.search(r"\.(\d+)f", float_format)
    digits = int(m.group(1)) if m else 1

    def dash(f):
        return lambda v: "–" if pd.isna(v) else f(v)

    whole = _fixed(0)
    if name in COUNT_COLUMNS:
        return dash(whole)
    if name in PRECISE_COLUMNS:
        def precise(v):
            if _whole(v) or abs(v) >= 1e5:
                return whole(v)
            return i18n.decimal(v, i18n.decimals_of(f"{v:.6g}") or 0)
        return dash(precise)
    if name in SHARE_COLUMNS or name.startswith("share_") or name.endswith("_share"):
        if finite.empty or finite.between(0, 1).all():
            return dash(lambda v: f"{i18n.decimal(v * 100, 1)} %")
    if name.endswith(("_m", "_s")) or name in ("seconds",):
        return dash(whole)
    if not finite.empty and finite.map(_whole).all():
        return dash(whole)
    # sensible precision: no decimals on whole numbers and from 1,000 up
    return dash(lambda v: whole(v) if _whole(v) or abs(v) >= 1000 else i18n.decimal(v, digits))


def _cell(v):
    """A text cell as shown: code identifiers read as words; labels the catalog knows and
    phrases the package stores in tables (:mod:`citybridge.phrases`) are translated."""
    from .phrases import translate_phrase

    if isinstance(v, str):
        return plain(translate_phrase(v)) if v else v  # gettext("") is the catalog's header
    if isinstance(v, Text):
        return plain(v)
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        # a number in a column of mixed values: written as the language writes numbers
        return "–" if pd.isna(v) else (i18n.number(v) if float(v).is_integer() else i18n.decimal(v, 1))
    return v


@multilingual
def table(df, /, *args, caption: str | Text, source: str | Text, index: bool = False,
          float_format: str = "{:,.1f}", max_rows: int = 60) -> HTML:
    """A captioned, escaped HTML table with its source line, in every language of the build.

    ``df`` is a DataFrame, or a function of the package that returns one
    written in the language in force, called with ``args`` in each language
    (``nb.table(compare.facts_table, places, caption=...)``).

    Numbers are written as people of the language write them
    (:func:`number_formatter`), headers are plain language with units
    (:func:`header`), code identifiers in cells read as words (:func:`plain`)
    and cells that are labels of the catalog (``urban``, ``AM peak``) are
    translated; names (of places, routes, stops) stay as they are. The table
    scrolls inside the page column when it is wider.
    """
    df = df(*args) if callable(df) else df
    d = df.head(max_rows).copy()
    fmt = {}
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            fmt[c] = number_formatter(c, d[c], float_format)
        elif pd.api.types.is_integer_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c]):
            fmt[c] = lambda v: "–" if pd.isna(v) else i18n.number(v)
        elif not pd.api.types.is_numeric_dtype(d[c]):
            d[c] = d[c].map(_cell)
    for c, f in fmt.items():
        d[c] = d[c].map(f)
    d.columns = [header(c) for c in d.columns]
    if index and d.index.name:
        d.index.name = header(d.index.name)
    if index:
        d.index = [_cell(v) for v in d.index] if not isinstance(d.index, pd.MultiIndex) else d.index
        d.index.name = header(df.index.name) if df.index.name else None
    body = d.to_html(index=index, escape=True, border=0, classes="cb-table table", na_rep="–")
    caption = plain(caption)
    more = ("<br>" + html.escape(tr("Showing {shown:,} of {total:,} rows.", shown=max_rows, total=len(df)))
            if len(df) > max_rows else "")
    out = (f'<figure class="cb-table-figure"><div class="cb-table-scroll" tabindex="0" role="region" '
           f'aria-label="{html.escape(caption, quote=True)}">{body}</div><figcaption>{html.escape(caption)}'
           f'<br><span class="cb-source">{html.escape(tr("Source: {source}", source=plain(source)))}</span>'
           f'{more}</figcaption></figure>')
    return HTML(out, d.to_string(index=index))


@multilingual
def map_figure(m, *, caption: str | Text, alt: str | Text, source: str | Text) -> HTML:
    """A folium map in a captioned figure with a text alternative and source, in
    every language of the build (the map's own labels through
    :func:`citybridge.maps.translated_page`)."""
    from .maps import translated_page

    caption, alt = plain(caption), plain(alt)
    page = translated_page(m)
    inner = (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="{html.escape(alt, quote=True)}" '
             'style="width:100%;height:520px;border:0;"></iframe>')
    body = (f'<figure class="cb-map" role="group" aria-label="{html.escape(alt, quote=True)}">{inner}'
            f"<figcaption>{html.escape(caption)}<br><span class=\"cb-source\">"
            f"{html.escape(tr('Source: {source}', source=plain(source)))}</span></figcaption></figure>")
    kind = tr("map")
    return HTML(body, f"[{kind}] {caption} — {alt}")


@multilingual
def say(text, /, *args, **kwargs) -> HTML:
    """A computed sentence as a paragraph (escaped; code identifiers read as words), in every language of the build.

    ``text`` is a string, a :class:`~citybridge.texts.Text`, or a function of
    the package that writes a sentence, called with ``args`` and ``kwargs``
    in each language (``nb.say(access.rural_gap_sentence, summ)``).
    """
    text = plain(text(*args, **kwargs) if callable(text) else text)
    return HTML(f"<p class=\"cb-finding\">{html.escape(text)}</p>", text)


@multilingual
def notes(day) -> HTML:
    """What was fixed or assumed while reading the feed, as a list (no list
    when there is nothing to report)."""
    notes = [plain(i18n.gettext(n)) for n in day.notes]   # a note the catalog knows is translated
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    d = f"{day.date[:4]}-{day.date[4:6]}-{day.date[6:]}"
    kind = tr("frequency-based") if day.is_frequency_based else tr("timetable")
    head = tr("Analysis date: {date} ({kind} feed, {trips:,} trips).", date=d, kind=kind, trips=len(day.trips))
    return HTML(f"<p>{html.escape(head).replace(d, f'<b>{d}</b>', 1)}</p>" + (f"<ul>{items}</ul>" if items else ""),
                "; ".join([head.rstrip("."), *notes]))


@multilingual
def bullets(items, /, *args, empty: str | Text = N_("Nothing to list."), **kwargs) -> HTML:
    """A bulleted list of computed statements (escaped), in every language of the build.

    ``items`` is a list of strings or :class:`~citybridge.texts.Text`, or a
    function of the package that returns such a list, called with ``args``
    and ``kwargs`` in each language (``nb.bullets(compare.lessons_and_limits, wide)``).
    """
    items = items(*args, **kwargs) if callable(items) else items
    if not items:
        return say(Text(empty) if isinstance(empty, str) else empty)
    items = [plain(s) for s in items]
    body = "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"
    return HTML(body, "\n".join(f"- {s}" for s in items))
