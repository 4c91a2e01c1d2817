"""Writing the ``city.yml`` of a new city (``citybridge new-city``): guessed from the data, safely.

Every value that comes from a feed or a file is written as a quoted YAML
scalar on one line (:func:`clean_text`), so no data can add keys or break a
comment; columns of the boundaries and population files are guessed (ids
shared between the two files, names, population counts, urban/rural
classes), and each guess is marked ``CHECK`` for the trainer to verify.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import yaml

from .city import DEFAULT_PERIODS


_ID_NAME = re.compile(r"(^id$|_id$|^id_|code|^cod|_cod|cve|adcode|^ine|gid|^fid$|objectid|^key$)", re.I)


_NAME_NAME = re.compile(r"(name|nombre|^nom|comuna|district|distrito|municip|county|ward|名)", re.I)


_POP_NAME = re.compile(r"(pop|poblaci|habitant|inhabit|resident|people|personas|人口)", re.I)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def clean_text(text: object, limit: int = 200) -> str:
    """One line of plain text: control characters and line breaks become spaces."""
    s = " ".join(_CONTROL.sub(" ", str(text)).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _y(value: object) -> str:
    """A YAML scalar on one line, quoted when needed (data from a feed may hold anything)."""
    if isinstance(value, str):
        value = clean_text(value)
    out = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    if out.endswith("\n...\n"):
        out = out[:-5]
    return out.strip()


def _c(text: str) -> str:
    """Comment text that cannot break out of its comment line."""
    return clean_text(text, 300)


def _text_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c != "geometry"]


def _as_str(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().replace({"nan": "", "None": ""})


def _unique_nonblank(s: pd.Series) -> bool:
    v = _as_str(s)
    return bool((v != "").all() and v.is_unique)


def _pick_id(df: pd.DataFrame, others: list[pd.Series] | None = None) -> tuple[str | None, str]:
    """Best id column: unique values, preferably shared with ``others``; with the reason."""
    cols = _text_cols(df)
    candidates = [c for c in cols if _unique_nonblank(df[c])]
    if others:
        best, overlap = None, 0.0
        for c in candidates:
            v = set(_as_str(df[c]))
            for o in others:
                share = len(v & set(_as_str(o))) / max(len(v), 1)
                if share > overlap:
                    best, overlap = c, share
        if best is not None and overlap >= 0.5:
            return best, f"its values match the other file's ids, {overlap:.0%} of them"
    named = [c for c in candidates if _ID_NAME.search(str(c))]
    if named:
        return named[0], "unique values and an id-like name"
    return None, ""


def _pick_name(df: pd.DataFrame, id_col: str | None) -> str | None:
    cols = [c for c in _text_cols(df) if c != id_col]
    named = [c for c in cols if _NAME_NAME.search(str(c))]
    for c in named + cols:
        v = _as_str(df[c])
        if (v != "").all() and pd.to_numeric(v, errors="coerce").isna().all():
            return c
    return None


def _pick_population(df: pd.DataFrame, id_col: str | None) -> str | None:
    cols = [c for c in _text_cols(df) if c != id_col]
    numeric = []
    for c in cols:
        v = pd.to_numeric(_as_str(df[c]).str.replace(",", "", regex=False).str.replace(" ", "", regex=False),
                          errors="coerce")
        if v.notna().all() and (v >= 0).all():
            numeric.append(c)
    named = [c for c in numeric if _POP_NAME.search(str(c))]
    return (named or [None])[0]


def _pick_class(df: pd.DataFrame) -> str | None:
    for c in _text_cols(df):
        v = _as_str(df[c]).str.lower()
        if len(v) and v.isin(["urban", "rural"]).all():
            return c
    return None


def profile_text(slug: str, gtfs: Path, facts: dict, gtfs_sha: str, sections: list[str],
                 missing: list[str]) -> str:
    """The text of a new city's ``city.yml``.

    ``facts`` is what the feed says (agencies, timezone, centre, publisher;
    see :func:`citybridge.newcity.new_city`), ``sections`` the lines of the
    optional inputs given (:func:`boundaries_section`,
    :func:`population_section`), ``missing`` one comment per input not given
    and what it would unlock.
    """
    L: list[str] = []
    today = dt.date.today().isoformat()
    L += [f"# city.yml for '{slug}', written by 'citybridge new-city' on {today}.",
          "# Lines marked CHECK were guessed from the data: verify each one by hand, then run",
          f"#   citybridge validate {slug}",
          f"# then try one chapter (citybridge run {slug} --notebooks 00) and build the book (citybridge build).",
          ""]
    agencies = facts["agencies"]
    if agencies:
        name = agencies[0]
        src = "agency.txt agency_name" + (f" (first of {len(agencies)} agencies)" if len(agencies) > 1 else "")
        L.append(f"name: {_y(name)}  # CHECK: from {src}; write the city's name as it should appear in the book")
    else:
        L.append(f"name: {_y(slug.replace('-', ' ').replace('_', ' ').title())}  # CHECK: agency.txt gives no "
                 "agency_name; write the city's name")
    if len(agencies) > 1:
        L.append("# agencies in the feed: " + _c(", ".join(agencies[:8]) + (" …" if len(agencies) > 8 else "")))
    L.append("name_local: ''  # optional: the name in the local language")
    L.append("country: ''  # CHECK: the country, shown on the city's page")
    if facts["timezone_ok"]:
        extra = (f"; the feed lists several: {_c(', '.join(facts['timezones']))}" if len(facts["timezones"]) > 1
                 else "")
        L.append(f"timezone: {_y(facts['timezone'])}  # from agency.txt agency_timezone{extra}")
    else:
        given = facts["timezone_given"]
        L.append("timezone: UTC  # CHECK: agency.txt gives " + (f"'{_c(given)}', not a known time zone"
                 if given else "no agency_timezone") + "; write the IANA name, e.g. America/Santiago")
    L.append(f"crs: {facts['crs']}  # CHECK: the UTM zone of the stops' median position "
             f"({facts['lat']:.4f}, {facts['lon']:.4f}); any metric CRS of the area works")
    if facts["in_china"]:
        L.append("source_datum: WGS84  # CHECK: this feed lies in China, where coordinates are often "
                 "GCJ-02 (set GCJ02) or BD-09 (set BD09); ask the publisher, or compare a station with "
                 "a WGS-84 map")
    else:
        L.append("source_datum: WGS84  # GTFS coordinates are WGS-84 by definition")
    L.append("sample: false  # real data supplied by the trainer (true marks illustrative teaching data)")
    L.append("# data_status: official  # or reconstructed (rebuilt from official data; say what was assumed in")
    L.append("#                          data_assumptions) or illustrative; shown on every page and KPI")
    L.append(f"gtfs: gtfs.zip  # copied from {_c(gtfs.name)}, sha256 {gtfs_sha[:16]}…")
    modes = ", ".join(f"{m} ({n} route{'s' if n != 1 else ''})" for m, n in facts["modes"])
    L.append(f"# modes in the feed: {_c(modes) or 'none'}")
    L.append(f"# stops: {facts['n_stops']:,} stops/platforms, {facts['n_stations']:,} parent stations")
    if facts["dates"]:
        lo, hi = facts["dates"]
        L.append(f"# service dates: {lo} to {hi}; the chapters use the busiest weekday of the first full "
                 "week unless a date is given")
    notes = []
    if not facts["has_shapes"]:
        notes.append("no shapes.txt (lines are drawn stop to stop)")
    if facts["has_frequencies"]:
        notes.append("frequencies.txt present (expanded into departures)")
    if not facts["has_direction"]:
        notes.append("trips.txt has no direction_id (headways assume one direction)")
    for n in facts["notes"]:
        notes.append(n)
    for n in notes:
        L.append(f"# note: {_c(n)}")
    if facts["publisher"]:
        L.append(f"notes: {_y('GTFS published by ' + facts['publisher'])}  # CHECK: licence and date of the feed")
    else:
        L.append("notes: ''  # CHECK: who published the feed, its licence and date")
    L.append("# periods: the defaults are used (" + ", ".join(f"{k} {a}-{b}" for k, (a, b) in DEFAULT_PERIODS.items())
             + "); copy them here as 'periods: {am_peak: [\"07:00\", \"09:00\"], ...}' if the city's peaks differ")
    L += ["# CHECK: chapter 05 (low carbon) computes bus CO2 only with these four sourced parameters; fill",
          "# in values with their sources and remove the '# ' in front of each line (solid: false marks a",
          "# generic value that is not specific to the city):",
          "# parameters:",
          "#   grid_kgco2_per_kwh: {value: FILL, unit: kgCO2/kWh, year: FILL, source: FILL}",
          "#   diesel_kgco2_per_litre: {value: FILL, unit: kgCO2/L, year: FILL, source: FILL}",
          "#   diesel_bus_litres_per_100km: {value: FILL, unit: L/100 km, year: FILL, source: FILL, solid: false}",
          "#   ebus_kwh_per_km: {value: FILL, unit: kWh/km, year: FILL, source: FILL, solid: false}",
          "# fleet:  # optional: buses by energy, to split bus-km when trips.txt has no vehicle_energy",
          "#   - {mode: bus, energy: electric, vehicles: FILL, year: FILL, source: FILL}",
          "# facts:  # optional key figures for the city's page",
          "#   - {metric: FILL, value: FILL, unit: FILL, year: FILL, source: FILL}"]
    L.append("# download: {url: 'https://...', sha256: '<64 hex digits>'} lets 'citybridge fetch' refresh the feed")
    L.append("")
    L += sections
    if missing:
        L.append("# Optional inputs not given (each unlocks more of the book; see the trainers' guide):")
        L += [f"#   {m}" for m in missing]
    return "\n".join(L).rstrip() + "\n"


def boundaries_section(file: str, b, pop_df: pd.DataFrame | None) -> tuple[list[str], str | None]:
    """The ``boundaries:`` lines for the polygons ``b`` copied as ``file``, and the id column guessed.

    The id column is the one whose unique values match the population
    table ``pop_df`` best (else one with an id-like name); each guess is
    marked ``CHECK``.
    """
    id_col, why = _pick_id(b, [pop_df[c] for c in _text_cols(pop_df)] if pop_df is not None else None)
    name_col = _pick_name(b, id_col)
    L = ["boundaries:", f"  file: {_y(file)}"]
    if id_col:
        L.append(f"  id_column: {_y(str(id_col))}  # CHECK: detected, {why}; columns: "
                 f"{_c(', '.join(map(str, _text_cols(b))))}")
    else:
        L.append(f"  id_column: district_id  # CHECK: no unique id column found; name the column that "
                 f"identifies each polygon (columns: {_c(', '.join(map(str, _text_cols(b))))})")
    if name_col:
        L.append(f"  name_column: {_y(str(name_col))}  # CHECK: detected (text values)")
    else:
        L.append("  name_column: name  # CHECK: no name column found; name the column with the district names")
    L.append("  attribution: ''  # CHECK: who published the boundaries, and the licence")
    L.append(f"  # {len(b):,} polygons")
    return L, id_col


def population_section(file: str, pop: pd.DataFrame, b, b_id: str | None) -> list[str]:
    """The ``population:`` lines for the table ``pop`` copied as ``file``, joined to ``b`` on ``b_id``."""
    others = [b[b_id]] if (b is not None and b_id) else None
    id_col, why = _pick_id(pop, others)
    pop_col = _pick_population(pop, id_col)
    cls_col = _pick_class(pop)
    if cls_col is None and b is not None:
        cls_col = _pick_class(b)
    cols = _c(", ".join(map(str, pop.columns)))
    L = ["population:", f"  file: {_y(file)}"]
    if id_col:
        L.append(f"  id_column: {_y(str(id_col))}  # CHECK: detected, {why}")
    else:
        L.append(f"  id_column: district_id  # CHECK: no column matching the boundaries' ids found; name it "
                 f"(columns: {cols})")
    if pop_col:
        L.append(f"  population_column: {_y(str(pop_col))}  # CHECK: detected (numbers, population-like name)")
    else:
        L.append(f"  population_column: population  # CHECK: no population column found; name the column "
                 f"with the number of people (columns: {cols})")
    if cls_col:
        L.append(f"  class_column: {_y(str(cls_col))}  # CHECK: detected (values urban/rural)")
    else:
        L.append("  class_column: null  # no urban/rural column found: results are not split urban/rural; "
                 "add a column with urban or rural per district and name it here")
    L.append("  year: ''  # CHECK: the census or estimate year")
    L.append("  source: ''  # CHECK: who published the numbers, and the licence")
    if b is None:
        L.append("  # CHECK: population is joined to boundaries polygons; add --boundaries too, or a "
                 "'boundaries' section, to use it")
    L.append(f"  # {len(pop):,} rows")
    return L
