"""Small display helpers that keep the notebooks thin.

Everything shown goes through HTML escaping: names from a feed can never
inject markup into a page.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from .city import CITIES_ENV, City, load_city


class HTML:
    """Minimal rich-display object (text/html with a plain-text fallback)."""

    def __init__(self, body: str, text: str = ""):
        self.body = body
        self.text = text or "(see the HTML output)"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.body, "text/plain": self.text}


def open_city(slug: str, cities_root: str | None = None) -> City:
    """Load the city named by the notebook's ``city`` parameter.

    ``cities_root`` (a parameter set by ``citybridge build``) points at the
    ``data/cities`` folder; when empty the project's own folder is used.
    """
    if cities_root:
        os.environ[CITIES_ENV] = str(Path(cities_root).resolve())
    return load_city(slug)


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
        text = (f"The network of {city.name} is rebuilt from the operator's official data: "
                f"{p.data_source or 'see Data and sources'}. {p.data_assumptions}").strip()
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


def table(df: pd.DataFrame, *, caption: str, source: str, index: bool = False,
          float_format: str = "{:,.1f}", max_rows: int = 60) -> HTML:
    """A captioned, escaped HTML table with its source line."""
    d = df.head(max_rows)
    fmt = {c: float_format.format for c in d.columns if pd.api.types.is_float_dtype(d[c])}
    body = d.to_html(index=index, escape=True, formatters=fmt, border=0, classes="cb-table table", na_rep="–")
    more = f"<br>Showing {max_rows} of {len(df):,} rows." if len(df) > max_rows else ""
    out = (f'<figure class="cb-table-figure">{body}<figcaption>{html.escape(caption)}'
           f'<br><span class="cb-source">Source: {html.escape(source)}</span>{more}</figcaption></figure>')
    return HTML(out, d.to_string(index=index))


def map_figure(m, *, caption: str, alt: str, source: str) -> HTML:
    """A folium map in a captioned figure with a text alternative and source."""
    page = m.get_root().render()
    inner = (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="{html.escape(alt, quote=True)}" '
             'style="width:100%;height:520px;border:0;"></iframe>')
    body = (f'<figure class="cb-map" role="group" aria-label="{html.escape(alt, quote=True)}">{inner}'
            f"<figcaption>{html.escape(caption)}<br><span class=\"cb-source\">Source: {html.escape(source)}"
            "</span></figcaption></figure>")
    return HTML(body, f"[map] {caption} — {alt}")


def say(text: str) -> HTML:
    """A computed sentence as a paragraph (escaped)."""
    return HTML(f"<p class=\"cb-finding\">{html.escape(text)}</p>", text)


def notes(day) -> HTML:
    """What was fixed or assumed while reading the feed, as a list."""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in day.notes) or "<li>nothing to report</li>"
    return HTML(f"<p>Analysis date: <b>{day.date[:4]}-{day.date[4:6]}-{day.date[6:]}</b> "
                f"({'frequency-based' if day.is_frequency_based else 'timetable'} feed, "
                f"{len(day.trips):,} trips).</p><ul>{items}</ul>",
                f"analysis date {day.date}; " + "; ".join(day.notes))


def bullets(items: list[str], *, empty: str = "Nothing to list.") -> HTML:
    """A bulleted list of computed statements (escaped)."""
    if not items:
        return say(empty)
    body = "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"
    return HTML(body, "\n".join(f"- {s}" for s in items))


def other_cities(place: City) -> list[City]:
    """Every other city present that loads without error (for side-by-side tables).

    A city whose folder is broken is skipped here: its own chapters and the
    build report say what is wrong with it.
    """
    from .city import list_cities
    from .errors import CitybridgeError

    out = []
    for slug in list_cities():
        if slug == place.slug:
            continue
        try:
            out.append(load_city(slug))
        except CitybridgeError:
            continue
    return out
