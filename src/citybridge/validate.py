"""Checks of a city folder or a GTFS feed, as a readable report.

Each finding names the file, the column and the row where it applies, and
says what to do. Severities: ``fatal`` (the city cannot be built),
``warning`` (it builds, but a result may be wrong), ``info`` (what was
assumed or what an optional file would unlock).

The command ``citybridge validate`` prints the report and exits 0 (clean),
1 (warnings only) or 2 (fatal); chapter ``00_data_check`` shows the same
findings as a table.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import CitybridgeError

SEVERITIES = ("fatal", "warning", "info")


@dataclass(frozen=True)
class Finding:
    severity: str
    file: str
    column: str
    row: str
    message: str


def _f(sev: str, file: str, message: str, column: str = "", row: object = "") -> Finding:
    return Finding(sev, file, column, "" if row == "" else str(row), message)


def _check_feed_tables(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    stops = feed.stops
    st = feed.stop_times
    trips = feed.trips
    routes = feed.routes
    for name, df, key in (("stops", stops, "stop_id"), ("routes", routes, "route_id"), ("trips", trips, "trip_id")):
        dup = df[key].duplicated()
        if dup.any():
            i = int(dup.to_numpy().nonzero()[0][0])
            out.append(_f("fatal", f"{src}/{name}.txt", f"{int(dup.sum())} duplicate {key} value(s), first "
                          f"'{df[key].iloc[i]}'; make every {key} unique", key, i + 1))
    unknown_stop = ~st["stop_id"].isin(set(stops["stop_id"]))
    if unknown_stop.any():
        i = int(unknown_stop.to_numpy().nonzero()[0][0])
        out.append(_f("warning", f"{src}/stop_times.txt", f"{int(unknown_stop.sum())} stop time(s) name a stop "
                      f"not in stops.txt (first '{st['stop_id'].iloc[i]}'); they are ignored", "stop_id", i + 1))
    unknown_route = ~trips["route_id"].isin(set(routes["route_id"]))
    if unknown_route.any():
        i = int(unknown_route.to_numpy().nonzero()[0][0])
        out.append(_f("warning", f"{src}/trips.txt", f"{int(unknown_route.sum())} trip(s) name a route not in "
                      f"routes.txt (first '{trips['route_id'].iloc[i]}'); they are ignored", "route_id", i + 1))
    no_st = ~trips["trip_id"].isin(set(st["trip_id"]))
    if no_st.any():
        i = int(no_st.to_numpy().nonzero()[0][0])
        out.append(_f("warning", f"{src}/trips.txt", f"{int(no_st.sum())} trip(s) have no stop times (first "
                      f"'{trips['trip_id'].iloc[i]}'); they are ignored", "trip_id", i + 1))
    no_trip = ~routes["route_id"].isin(set(trips["route_id"]))
    if no_trip.any():
        out.append(_f("info", f"{src}/routes.txt", f"{int(no_trip.sum())} route(s) have no trips and are left out "
                      "of every chapter", "route_id"))
    for col in ("arrival_time", "departure_time"):
        if col in st:
            blank = st[col].isna() | (st[col].astype(str).str.strip() == "")
            if blank.any():
                out.append(_f("info", f"{src}/stop_times.txt", f"{int(blank.sum()):,} blank {col} value(s): "
                              "times at untimed stops are interpolated linearly between timed stops", col))
    if getattr(feed, "shapes", None) is None:
        out.append(_f("info", f"{src}/shapes.txt", "absent: route lines are drawn stop to stop"))
    for note in getattr(feed, "notes", []):
        out.append(_f("warning", src, note))
    if "parent_station" in stops:
        has_parent = stops["parent_station"].notna() & (stops["parent_station"].astype(str) != "")
        if has_parent.any():
            out.append(_f("info", f"{src}/stops.txt", f"{int(has_parent.sum())} platform(s) belong to parent "
                          "stations; a station is counted once for access", "parent_station"))
    return out


def _outside_boundaries(city, feed) -> list[Finding]:
    path = city.optional_path("boundaries")
    if path is None or not path.exists():
        return []
    try:
        import geopandas as gpd

        b = gpd.read_file(path).to_crs("EPSG:4326")
    except Exception as exc:  # noqa: BLE001
        return [_f("fatal", str(path), f"cannot read the boundaries ({type(exc).__name__}: {exc}); "
                   "give a GeoJSON or GeoPackage of polygons")]
    minx, miny, maxx, maxy = b.total_bounds
    pad = 0.05
    s = feed.stops
    out_mask = (s["stop_lon"] < minx - pad) | (s["stop_lon"] > maxx + pad) | \
               (s["stop_lat"] < miny - pad) | (s["stop_lat"] > maxy + pad)
    out_mask &= s["stop_lat"].notna()
    if out_mask.any():
        i = int(out_mask.to_numpy().nonzero()[0][0])
        return [_f("warning", f"{city.gtfs_path}/stops.txt", f"{int(out_mask.sum())} stop(s) lie outside the "
                   f"boundaries' extent (first '{s['stop_id'].iloc[i]}'); check the coordinates and the "
                   "declared source_datum", "stop_lat", i + 1)]
    return []


def validate(target: str | Path) -> list[Finding]:
    """All findings for a city slug, a city folder, or a GTFS zip/folder."""
    from .city import City, load_city, read_profile
    from .feed import choose_date, prepare_day, read_feed

    findings: list[Finding] = []
    t = Path(target)
    city: City | None = None
    gtfs: Path
    datum = "WGS84"
    if (t.is_dir() and (t / "city.yml").exists()) or (not t.exists() and "/" not in str(target)):
        try:
            city = load_city(target, check_files=False)
        except CitybridgeError as exc:
            return [_f("fatal", str(target), str(exc))]
        gtfs = city.gtfs_path
        datum = city.profile.source_datum
        for kind, unlocks in (("boundaries", "access by comuna/district and the urban/rural split"),
                              ("population", "SDG 11.2.1 population coverage"),
                              ("gbfs", "bike-share integration in chapter 06")):
            p = city.optional_path(kind)  # type: ignore[arg-type]
            if p is None:
                findings.append(_f("info", str(city.folder / "city.yml"), f"no '{kind}' given: add it to unlock {unlocks}"))
            elif not p.exists():
                findings.append(_f("warning", str(p), f"named by '{kind}' in city.yml but missing: add the file or "
                                   f"remove '{kind}'; without it the chapters skip {unlocks}"))
        for name, par in city.profile.parameters:
            if par is not None and not par.solid:
                findings.append(_f("warning", str(city.folder / "city.yml"), f"parameter '{name}' has no solid "
                                   f"source ({par.note or par.source}); results using it are flagged", name))
    elif t.is_dir() and (t / "stops.txt").exists() or t.suffix == ".zip":
        gtfs = t
    elif t.is_dir():
        try:
            read_profile(t / "city.yml")
        except CitybridgeError as exc:
            return [_f("fatal", str(t), str(exc))]
        return findings
    else:
        return [_f("fatal", str(target), "not a city slug, a city folder with city.yml, or a GTFS .zip/folder")]
    try:
        feed = read_feed(gtfs, datum=datum)
    except CitybridgeError as exc:
        return findings + [_f("fatal", str(gtfs), str(exc))]
    findings += _check_feed_tables(feed, str(gtfs))
    if city is not None:
        findings += _outside_boundaries(city, feed)
    try:
        date = choose_date(feed)
        day = prepare_day(feed, date)
        findings.append(_f("info", str(gtfs), f"analysis date {date}: {len(day.trips):,} trips on "
                           f"{day.trips['route_id'].nunique():,} routes"))
    except CitybridgeError as exc:
        findings.append(_f("fatal", str(gtfs), str(exc)))
    return findings


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """Findings as a table: severity, file, column, row, message (most severe first)."""
    df = pd.DataFrame([f.__dict__ for f in findings], columns=["severity", "file", "column", "row", "message"])
    df["severity"] = pd.Categorical(df["severity"], SEVERITIES, ordered=True)
    return df.sort_values("severity", kind="stable").reset_index(drop=True)


def exit_code(findings: list[Finding]) -> int:
    sev = {f.severity for f in findings}
    return 2 if "fatal" in sev else 1 if "warning" in sev else 0


def print_report(findings: list[Finding], target: object, stream=None) -> int:
    """Print findings grouped by severity and return the exit code."""
    stream = stream or sys.stdout
    code = exit_code(findings)
    print(f"validate {target}: " + {0: "OK", 1: "warnings", 2: "FATAL problems"}[code], file=stream)
    for sev in SEVERITIES:
        for f in (x for x in findings if x.severity == sev):
            loc = ", ".join(x for x in (f.file, f"column '{f.column}'" if f.column else "",
                                        f"row {f.row}" if f.row else "") if x)
            print(f"  {sev.upper():7} {loc}: {f.message}", file=stream)
    return code
