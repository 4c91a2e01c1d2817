"""Scaffold a new city from a trainer's files (``citybridge new-city``).

:func:`new_city` creates ``data/cities/<slug>/`` with copies of the files it
is given (the trainer's own files are only read, never changed) and a
``city.yml`` filled in from what the data says:

* ``name`` and ``timezone`` from ``agency.txt``;
* ``crs``: the UTM zone of the stops (:func:`citybridge.feed.utm_crs`);
* the modes present, the service dates and the optional files present, as
  comments;
* ``boundaries`` / ``population`` / ``gbfs`` sections only when the files are
  given, with the id, name and population columns detected where possible.

Every guessed line carries a ``# CHECK`` comment saying what to verify by
hand. The folder is assembled in a hidden temporary folder next to the final
one and renamed into place only when complete and valid, so a failure (or an
interrupted run) never leaves a half-created city.

Example
-------
>>> from citybridge.newcity import new_city
>>> new_city("cairns", Path("cairns_gtfs.zip"), root=Path("data/cities"))   # doctest: +SKIP
PosixPath('data/cities/cairns')
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import yaml

from .city import DEFAULT_PERIODS, SLUG_RE, load_city, read_profile
from .errors import CitybridgeError, DataError, FeedError, ProfileError

#: Boundary formats accepted, by suffix (a shapefile comes with its side files or zipped).
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip", ".kml", ".gml")
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")

_ID_NAME = re.compile(r"(^id$|_id$|^id_|code|^cod|_cod|cve|adcode|^ine|gid|^fid$|objectid|^key$)", re.I)
_NAME_NAME = re.compile(r"(name|nombre|^nom|comuna|district|distrito|municip|county|ward|名)", re.I)
_POP_NAME = re.compile(r"(pop|poblaci|habitant|inhabit|resident|people|personas|人口)", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


# --------------------------------------------------------------------------
# Writing YAML by hand, safely
# --------------------------------------------------------------------------

def _clean(text: object, limit: int = 200) -> str:
    """One line of plain text: control characters and line breaks become spaces."""
    s = " ".join(_CONTROL.sub(" ", str(text)).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _y(value: object) -> str:
    """A YAML scalar on one line, quoted when needed (data from a feed may hold anything)."""
    if isinstance(value, str):
        value = _clean(value)
    out = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    if out.endswith("\n...\n"):
        out = out[:-5]
    return out.strip()


def _c(text: str) -> str:
    """Comment text that cannot break out of its comment line."""
    return _clean(text, 300)


# --------------------------------------------------------------------------
# What the feed says
# --------------------------------------------------------------------------

def _feed_facts(gtfs: Path) -> dict:
    """Read the feed safely and collect what the profile needs."""
    from .feed import feed_date_range, mode_of, read_feed, utm_crs

    feed = read_feed(gtfs)
    facts: dict = {"notes": list(getattr(feed, "notes", []))}
    ag = feed.agency if getattr(feed, "agency", None) is not None else pd.DataFrame()
    names = [_clean(n) for n in ag.get("agency_name", pd.Series(dtype=str)).dropna().astype(str) if _clean(n)]
    facts["agencies"] = names
    tzs = [t.strip() for t in ag.get("agency_timezone", pd.Series(dtype=str)).dropna().astype(str) if t.strip()]
    facts["timezones"] = sorted(set(tzs))
    tz = tzs[0] if tzs else ""
    facts["timezone_ok"] = _valid_timezone(tz)
    facts["timezone"] = tz if facts["timezone_ok"] else "UTC"
    facts["timezone_given"] = tz
    stops = feed.stops
    lt = pd.to_numeric(stops.get("location_type", pd.Series(0, index=stops.index)), errors="coerce").fillna(0)
    located = stops[lt.isin([0, 1]) & stops["stop_lat"].notna() & stops["stop_lon"].notna()]
    if located.empty:
        raise FeedError(f"{gtfs}/stops.txt: no stop has coordinates; the feed cannot be placed on a map")
    lat, lon = float(located["stop_lat"].median()), float(located["stop_lon"].median())
    facts["lat"], facts["lon"] = lat, lon
    facts["crs"] = utm_crs(lat, lon)
    facts["n_stops"] = int((lt == 0).sum())
    facts["n_stations"] = int((lt == 1).sum())
    modes = mode_of(feed.routes["route_type"]).value_counts()
    facts["modes"] = [(m, int(n)) for m, n in modes.items()]
    try:
        lo, hi = feed_date_range(feed)
        facts["dates"] = (lo.strftime("%Y%m%d"), hi.strftime("%Y%m%d"))
    except CitybridgeError:
        facts["dates"] = None
    facts["has_shapes"] = getattr(feed, "shapes", None) is not None and not feed.shapes.empty
    facts["has_frequencies"] = getattr(feed, "frequencies", None) is not None and not feed.frequencies.empty
    facts["has_direction"] = "direction_id" in feed.trips.columns
    fi = getattr(feed, "feed_info", None)
    facts["publisher"] = ""
    if fi is not None and not fi.empty and "feed_publisher_name" in fi:
        facts["publisher"] = _clean(fi["feed_publisher_name"].iloc[0])
    # mainland China, Hong Kong excluded roughly: feeds from map providers are often GCJ-02
    facts["in_china"] = 18 <= lat <= 54 and 73 <= lon <= 135
    return facts


def _valid_timezone(tz: str) -> bool:
    if not tz or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tz):
        return False
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(tz)
        return True
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError, OSError
        return False


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_gtfs(src: Path, dest: Path) -> None:
    """Copy a GTFS zip, or zip a GTFS folder's regular .txt files, to ``dest``."""
    if src.is_dir():
        files = sorted(p for p in src.glob("*.txt") if p.is_file() and not p.is_symlink())
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.name)
    else:
        shutil.copyfile(src, dest)


# --------------------------------------------------------------------------
# Optional inputs
# --------------------------------------------------------------------------

def _copy_boundaries(src: Path, tmp: Path) -> str:
    suffix = src.suffix.lower()
    if src.is_dir() or suffix not in BOUNDARY_SUFFIXES:
        raise DataError(f"{src}: boundaries must be one file: GeoJSON (.geojson), GeoPackage (.gpkg), "
                        "a shapefile (.shp with its .dbf/.shx/.prj next to it) or a zipped shapefile (.zip)")
    if suffix == ".zip":
        from .feed import MAX_COMPRESSION_RATIO, _check_members

        try:
            with zipfile.ZipFile(src) as zf:
                _check_members(zf, src, max_bytes=1024**3, max_ratio=MAX_COMPRESSION_RATIO)
        except zipfile.BadZipFile:
            raise DataError(f"{src}: not a valid zip archive; zip the shapefile's files again") from None
        except FeedError as exc:
            raise DataError(str(exc)) from None
    if suffix == ".shp":
        for side in _SHP_SIDECARS:
            p = src.with_suffix(side)
            if not p.exists():
                p = src.with_suffix(side.upper())
            if p.is_file():
                shutil.copyfile(p, tmp / f"boundaries{side}")
        if not (tmp / "boundaries.dbf").exists() or not (tmp / "boundaries.shx").exists():
            raise DataError(f"{src}: a shapefile needs its .shx and .dbf files next to it (same name); "
                            "copy them there or give a GeoJSON / GeoPackage instead")
        return "boundaries.shp"
    name = f"boundaries{'.geojson' if suffix == '.json' else suffix}"
    shutil.copyfile(src, tmp / name)
    return name


def _read_boundaries(path: Path):
    """The copied boundaries, read with the CRS policy of :mod:`citybridge.inputs`."""
    from .inputs import read_geo

    try:
        b = read_geo(path, what="boundaries", hint="give a GeoJSON or GeoPackage of polygons, or leave out "
                     "--boundaries")
    except DataError as exc:  # name the file as the trainer gave it, not the temporary copy
        raise DataError(_CONTROL.sub(" ", str(exc)).replace(str(path), path.name)) from None
    if b.empty:
        raise DataError(f"{path.name}: the boundaries file holds no polygons")
    geom_types = set(b.geometry.geom_type.dropna())
    if not geom_types <= {"Polygon", "MultiPolygon"}:
        raise DataError(f"{path.name}: the boundaries must be polygons (found {', '.join(sorted(geom_types))})")
    return b


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


# --------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------

def _profile_text(slug: str, gtfs: Path, facts: dict, gtfs_sha: str, sections: list[str],
                  missing: list[str]) -> str:
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


def _boundaries_section(file: str, b, pop_df: pd.DataFrame | None) -> tuple[list[str], str | None]:
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


def _population_section(file: str, pop: pd.DataFrame, b, b_id: str | None) -> list[str]:
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


def _copy_gbfs(src: Path, tmp: Path) -> int:
    from .multimodal import read_gbfs

    dest = tmp / "gbfs"
    dest.mkdir()
    if src.is_dir():
        files = [p for p in sorted(src.glob("*.json")) if p.is_file() and not p.is_symlink()]
    elif src.name == "gbfs.json":
        files = [p for p in sorted(src.parent.glob("*.json")) if p.is_file() and not p.is_symlink()]
    elif src.suffix.lower() == ".json":
        files = [src]
    else:
        raise DataError(f"{src}: give the GBFS folder (with station_information.json) or one of its .json files")
    total = sum(p.stat().st_size for p in files)
    if total > 200 * 1024**2:
        raise DataError(f"{src}: the GBFS files add up to {total:,} bytes; that is not a bike-share feed")
    for p in files:
        shutil.copyfile(p, dest / p.name)
    try:
        stations = read_gbfs(dest)
    except DataError as exc:
        raise DataError(f"{src}: the bike-share feed cannot be used: {exc}. Fix it, or leave out --gbfs") from None
    return len(stations)


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------

def new_city(slug: str, gtfs: Path, *, boundaries: Path | None = None, population: Path | None = None,
             gbfs: Path | None = None, root: Path) -> Path:
    """Create ``root/slug/`` from a GTFS feed and optional files.

    Parameters
    ----------
    slug
        Folder name: lower-case letters, digits, ``-`` or ``_``, starting with
        a letter (:data:`citybridge.city.SLUG_RE`).
    gtfs
        The feed: a ``.zip`` (copied as ``gtfs.zip``) or a folder of ``.txt``
        files (zipped into ``gtfs.zip``).
    boundaries, population, gbfs
        Optional: district polygons, a population table (CSV) and a GBFS
        bike-share folder or file. Each is copied in and described in
        ``city.yml``.
    root
        The cities folder, normally ``data/cities``.

    Returns
    -------
    Path
        The new city folder.

    Raises
    ------
    ProfileError
        Bad slug, or the city already exists.
    FeedError, DataError
        An input cannot be read (the message names the file and what to do).
        Nothing is created in that case.
    """
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise ProfileError(f"'{_clean(slug, 60)}' cannot be a city name: use 1 to 40 lower-case letters, "
                           "digits, '-' or '_', starting with a letter (for example 'valparaiso' or "
                           "'cairns-2014')")
    root = Path(root)
    dest = root / slug
    if dest.exists() or dest.is_symlink():
        raise ProfileError(f"{dest}: a city named '{slug}' already exists; nothing was changed. Choose "
                           "another name, or move that folder away first if you mean to replace it")
    inputs = {"--gtfs": Path(gtfs), "--boundaries": boundaries, "--population": population, "--gbfs": gbfs}
    for opt, p in inputs.items():
        if p is not None and not Path(p).exists():
            raise CitybridgeError(f"{p}: file not found (given as {opt}); check the path")
    gtfs = Path(gtfs)
    if not gtfs.is_dir() and gtfs.suffix.lower() != ".zip":
        raise FeedError(f"{gtfs}: give the GTFS feed as a .zip file or as a folder of .txt files")
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{slug}.new-", dir=root))
    except OSError as exc:
        raise CitybridgeError(f"{root}: cannot create the city folder there ({exc.strerror or exc}); make the "
                              "folder writable (or run the command as its owner), or free disk space") from None
    try:
        facts = _feed_facts(gtfs)
        _copy_gtfs(gtfs, tmp / "gtfs.zip")
        sections: list[str] = []
        missing: list[str] = []
        b = None
        b_id = None
        pop_df = None
        if population is not None:
            from .inputs import read_table

            population = Path(population)
            if population.is_dir() or population.suffix.lower() not in (".csv", ".tsv", ".txt"):
                raise DataError(f"{population}: give the population table as a CSV file (one row per district)")
            pop_name = "population" + population.suffix.lower()
            shutil.copyfile(population, tmp / pop_name)
            pop_df = read_table(tmp / pop_name)
            if pop_df.empty or len(pop_df.columns) < 2:
                raise DataError(f"{population}: the table has no rows or a single column; give a CSV with a "
                                "district id and a population per row (comma-separated)")
        if boundaries is not None:
            bname = _copy_boundaries(Path(boundaries), tmp)
            b = _read_boundaries(tmp / bname)
            sec, b_id = _boundaries_section(bname, b, pop_df)
            sections += sec
        else:
            missing.append("boundaries: {file: ..., id_column: ..., name_column: ...} -> districts on the maps, "
                           "access by district (chapters 01 and 03)")
        if pop_df is not None:
            sections += _population_section(pop_name, pop_df, b, b_id)
        else:
            missing.append("population: {file: ..., id_column: ..., population_column: ...} -> SDG 11.2.1 "
                           "population coverage, urban/rural (chapter 03)")
        if gbfs is not None:
            n = _copy_gbfs(Path(gbfs), tmp)
            sections.append(f"gbfs: gbfs  # bike share (GBFS): {n:,} stations in station_information.json")
        else:
            missing.append("gbfs: <folder with station_information.json> -> bike share near transit (chapter 06)")
        sha = _sha256(tmp / "gtfs.zip")
        text = _profile_text(slug, gtfs, facts, sha, sections, missing)
        (tmp / "city.yml").write_text(text, encoding="utf-8")
        prof = read_profile(tmp / "city.yml")  # must validate exactly as a build reads it
        if facts["agencies"] and prof.name != _clean(facts["agencies"][0]):
            raise CitybridgeError("internal error: the agency name did not survive writing city.yml")
        load_city(tmp, check_files=True)
        if dest.exists():
            raise ProfileError(f"{dest}: appeared while the city was being created; nothing was changed")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
        os.rename(tmp, dest)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, (CitybridgeError, KeyboardInterrupt, SystemExit)):
            raise
        raise CitybridgeError(f"could not create the city '{slug}' ({type(exc).__name__}: {_clean(exc, 300)}); "
                              "nothing was created") from None
    return dest


__all__ = ["new_city"]
