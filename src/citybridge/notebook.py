"""Small display helpers that keep the notebooks thin.

Everything shown goes through HTML escaping: names from a feed can never
inject markup into a page.
"""
from __future__ import annotations

import html

import pandas as pd

from .city import City


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

    def bundle(self) -> tuple[dict, dict]:
        """The output as a notebook stores it: (data by MIME type, metadata)."""
        return {"text/html": self.body, "text/plain": self.text}, dict(self.meta or {})

    def _repr_mimebundle_(self, include=None, exclude=None):
        data, meta = self.bundle()
        return (data, meta) if meta else data


def status_message(city: City) -> tuple[str, str, str]:
    """The data-status notice of a city: (status, title, text).

    ``official`` names the feed; ``reconstructed`` says where the network comes
    from and what was assumed; ``illustrative`` warns that figures describe
    teaching data, not the real city. The same words serve notebooks, the
    book's Markdown pages and the KPI tables.
    """
    p = city.profile
    st = city.status
    if st == "illustrative":
        title = "Illustrative sample data"
        text = (f"The network of {city.name} shown here is teaching data built from public facts (station "
                "positions, published headways, census counts), not the operator's schedule. Figures describe "
                "the sample, not the real city, and no lesson about the real city is drawn from them.")
        if p.data_assumptions:
            text += " " + p.data_assumptions
    elif st == "reconstructed":
        title = "Reconstructed from official data"
        src = (p.data_source or "see Data and sources").strip().rstrip(".")
        text = f"The network of {city.name} is rebuilt from the operator's official data: {src}. {p.data_assumptions}"
        text = text.strip()
    else:
        title = "Official data"
        text = (f"The network of {city.name} is the operator's feed as published"
                f"{': ' + p.data_source if p.data_source else ''} "
                f"({city.gtfs_path.name}).")
    return st, title, text


def banner(city: City) -> HTML:
    """The visible data-status banner of every page: official, reconstructed or illustrative."""
    st, title, text = status_message(city)
    kind = {"illustrative": "warning", "reconstructed": "note", "official": "note"}[st]
    body = (f'<div class="admonition {kind} cb-status-banner cb-status-{st}'
            f'{" cb-sample-banner" if st == "illustrative" else ""}" role="note">'
            f'<p class="admonition-title">{html.escape(title)}</p>'
            f"<p>{html.escape(text)}</p></div>")
    return HTML(body, f"{title.upper()}: {text}")


def source_line(city: City, day=None, extra: str = "") -> str:
    """'<city> GTFS (file), service day …' plus the data status."""
    parts = [f"{city.name} GTFS feed ({city.gtfs_path.name})"]
    if day is not None:
        d = day.date
        parts.append(f"service day {d[:4]}-{d[4:6]}-{d[6:]}")
    if extra:
        parts.append(extra)
    parts.append({"illustrative": "illustrative sample data (see Data and sources)",
                  "reconstructed": "reconstructed from official data (see Data and sources)",
                  "official": "official feed"}[city.status])
    return "; ".join(parts)


#: Code identifiers that readers never see: where one appears in a computed
#: sentence, a caption, a table cell or header, its plain-language label
#: (with its unit) is shown instead (:func:`plain`). Tested on the built book.
IDENTIFIERS = {
    "share_covered": "population covered (%)",
    "dist_to_bike_m": "distance to the nearest bike station (m)",
    "dist_to_stop_m": "distance to the nearest stop (m)",
    "am_peak": "AM peak",
    "pm_peak": "PM peak",
    "electric_share": "electric share of bus-km",
    "diesel_bus_litres_per_100km": "diesel bus consumption (L/100 km)",
    "ebus_kwh_per_km": "electric bus consumption (kWh/km)",
    "diesel_kgco2_per_litre": "diesel emission factor (kg CO2/L)",
    "grid_kgco2_per_kwh": "grid emission factor (kg CO2/kWh)",
    "car_kgco2_per_km": "car emission factor (kg CO2/km)",
    "mean_headway_min": "mean headway (min)",
    "median_headway_min": "median headway (min)",
    "pop_covered": "people covered",
    "pop_uncovered": "people not covered",
    "trips_per_hour": "trips per hour",
    "peak_vehicles": "peak vehicles",
    "span_hours": "span of service (h)",
    "service_km": "service-km (km)",
    "service_hours": "service-hours (h)",
    "vehicle_km_year": "vehicle-km per year (km)",
    "speed_kmh": "speed (km/h)",
}

#: Plain-language headers (with units) of the columns that tables show.
LABELS = {
    **IDENTIFIERS,
    "share_covered": "covered (%)",
    "area_class": "area",
    "agency_name": "operator", "agency_timezone": "time zone", "agency_url": "web address",
    "bus_m": "nearest bus stop (m)", "metro_m": "nearest metro station (m)",
    "distance_km": "distance (km)", "distance_m": "distance (m)", "district_id": "district code",
    "energy_unit": "energy unit", "first_departure": "first departure", "last_departure": "last departure",
    "from_stop_id": "from stop (id)", "from_stop_name": "from stop", "to_stop_id": "to stop (id)",
    "to_stop_name": "to stop", "high_tco2": "high case (t CO2)", "low_tco2": "low case (t CO2)",
    "population_assumption": "population assumption", "route_id": "route id", "route_km": "route length (km)",
    "route_long_name": "route name", "route_short_name": "route", "run_s": "running time (s)",
    "size_kb": "size (kB)", "speed_kmh_max": "fastest (km/h)", "speed_kmh_min": "slowest (km/h)",
    "stop_id": "stop id", "stop_name": "stop", "swing_pct": "swing (%)", "swing_tco2": "swing (t CO2)",
    "tco2": "CO2 (t)", "to_bus": "to bus", "to_metro": "to metro", "vehicle_energy": "energy",
    "vehicle_hours": "vehicle-hours (h)", "vehicle_km": "vehicle-km (km)", "kpi": "KPI",
    "trips_one_way": "trips, busier direction", "departures_one_way": "departures, busier direction",
    "weekday_km": "weekday (km)", "saturday_km": "Saturday (km)", "sunday_km": "Sunday (km)",
    "population": "population", "trips": "trips", "routes": "routes", "stops": "stops",
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


def plain(text: str) -> str:
    """``text`` with every code identifier of :data:`IDENTIFIERS` replaced by its
    label, and GTFS dates after "day" or "date" (``20260105``) written as the
    book writes dates everywhere (``2026-01-05``)."""
    import re

    global _IDENT_RE
    if _IDENT_RE is None:
        _IDENT_RE = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, IDENTIFIERS), key=len, reverse=True))
                               + r")(?!\w)")
    text = _IDENT_RE.sub(lambda m: IDENTIFIERS[m.group(1)], str(text))
    return re.sub(r"\b(day|date) (\d{4})(\d{2})(\d{2})\b", r"\1 \2-\3-\4", text)


def header(column: object) -> str:
    """A plain-language header for a column name (a code name never shows)."""
    c = str(column)
    if c in LABELS:
        return LABELS[c]
    return plain(c).replace("_", " ") if "_" in c else c


def period_label(period: str) -> str:
    """A period key of city.yml as people write it (``am_peak`` → ``AM peak``)."""
    return IDENTIFIERS.get(period, str(period).replace("_", " "))


def _whole(v) -> bool:
    try:
        return float(v).is_integer()
    except (TypeError, ValueError):
        return False


def number_formatter(column: str, values: pd.Series, float_format: str = "{:,.1f}"):
    """How one float column is written in a table.

    Counts are whole numbers (``7,400,741``, not ``7,400,741.00``); input
    values (:data:`PRECISE_COLUMNS`) keep the precision they were given; shares
    (0–1) are percentages with a % sign; distances in metres and seconds
    are whole; a column whose values are all whole numbers shows no
    decimals; otherwise whole numbers and numbers from 1,000 up show no
    decimals and the others ``float_format`` (in a column of mixed units,
    such as KPI values, this is decided value by value).
    """
    name = str(column)
    finite = values.dropna()

    def dash(f):
        return lambda v: "–" if pd.isna(v) else f(v)

    if name in COUNT_COLUMNS:
        return dash(lambda v: f"{v:,.0f}")
    if name in PRECISE_COLUMNS:
        return dash(lambda v: f"{v:,.0f}" if _whole(v) or abs(v) >= 1e5 else f"{v:.6g}")
    if name in SHARE_COLUMNS or name.startswith("share_") or name.endswith("_share"):
        if finite.empty or finite.between(0, 1).all():
            return dash(lambda v: f"{v * 100:,.1f} %")
    if name.endswith(("_m", "_s")) or name in ("seconds",):
        return dash(lambda v: f"{v:,.0f}")
    if not finite.empty and finite.map(_whole).all():
        return dash(lambda v: f"{v:,.0f}")
    # sensible precision: no decimals on whole numbers and from 1,000 up
    return dash(lambda v: f"{v:,.0f}" if _whole(v) or abs(v) >= 1000 else float_format.format(v))


def table(df: pd.DataFrame, *, caption: str, source: str, index: bool = False,
          float_format: str = "{:,.1f}", max_rows: int = 60) -> HTML:
    """A captioned, escaped HTML table with its source line.

    Numbers are written as people write them (:func:`number_formatter`),
    headers are plain language with units (:func:`header`) and code
    identifiers in cells read as words (:func:`plain`). The table scrolls
    inside the page column when it is wider.
    """
    d = df.head(max_rows).copy()
    fmt = {}
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            fmt[c] = number_formatter(c, d[c], float_format)
        elif pd.api.types.is_integer_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c]):
            fmt[c] = "{:,}".format
        elif not pd.api.types.is_numeric_dtype(d[c]):
            d[c] = d[c].map(lambda v: plain(v) if isinstance(v, str) else v)
    for c, f in fmt.items():
        d[c] = d[c].map(f)
    d.columns = [header(c) for c in d.columns]
    if index and d.index.name:
        d.index.name = header(d.index.name)
    body = d.to_html(index=index, escape=True, border=0, classes="cb-table table", na_rep="–")
    more = f"<br>Showing {max_rows} of {len(df):,} rows." if len(df) > max_rows else ""
    out = (f'<figure class="cb-table-figure"><div class="cb-table-scroll" tabindex="0" role="region" '
           f'aria-label="{html.escape(plain(caption), quote=True)}">{body}</div><figcaption>{html.escape(plain(caption))}'
           f'<br><span class="cb-source">Source: {html.escape(source)}</span>{more}</figcaption></figure>')
    return HTML(out, d.to_string(index=index))


def map_figure(m, *, caption: str, alt: str, source: str) -> HTML:
    """A folium map in a captioned figure with a text alternative and source."""
    caption, alt = plain(caption), plain(alt)
    page = m.get_root().render()
    inner = (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="{html.escape(alt, quote=True)}" '
             'style="width:100%;height:520px;border:0;"></iframe>')
    body = (f'<figure class="cb-map" role="group" aria-label="{html.escape(alt, quote=True)}">{inner}'
            f"<figcaption>{html.escape(caption)}<br><span class=\"cb-source\">Source: {html.escape(source)}"
            "</span></figcaption></figure>")
    return HTML(body, f"[map] {caption} — {alt}")


def say(text: str) -> HTML:
    """A computed sentence as a paragraph (escaped; code identifiers read as words)."""
    text = plain(text)
    return HTML(f"<p class=\"cb-finding\">{html.escape(text)}</p>", text)


def notes(day) -> HTML:
    """What was fixed or assumed while reading the feed, as a list (no list
    when there is nothing to report)."""
    items = "".join(f"<li>{html.escape(plain(n))}</li>" for n in day.notes)
    return HTML(f"<p>Analysis date: <b>{day.date[:4]}-{day.date[4:6]}-{day.date[6:]}</b> "
                f"({'frequency-based' if day.is_frequency_based else 'timetable'} feed, "
                f"{len(day.trips):,} trips).</p>" + (f"<ul>{items}</ul>" if items else ""),
                "; ".join([f"analysis date {day.date}", *day.notes]))


def bullets(items: list[str], *, empty: str = "Nothing to list.") -> HTML:
    """A bulleted list of computed statements (escaped)."""
    if not items:
        return say(empty)
    items = [plain(s) for s in items]
    body = "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"
    return HTML(body, "\n".join(f"- {s}" for s in items))
