"""Checks of a city folder or a GTFS feed, as a readable report.

Each finding names the file, the column and the row where it applies, and
says what to do. Severities: ``fatal`` (the city cannot be built, or a
chapter will fail), ``warning`` (it builds, but a result may be wrong),
``info`` (what was assumed or what an optional file would unlock).

The command ``citybridge validate`` prints the report and exits 0 (clean or
notes only), 1 (warnings) or 2 (fatal); chapter ``00_data_check`` shows the
same findings as a table. Checking never changes any file and never raises:
an unexpected error becomes a fatal finding.

Example
-------
>>> from citybridge.validate import validate, print_report
>>> code = print_report(validate("santiago"), "santiago")      # doctest: +SKIP
"""
from __future__ import annotations

import math
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CitybridgeError

SEVERITIES = ("fatal", "warning", "info")

#: What each optional input unlocks (used in the findings and in chapter 00).
UNLOCKS = {
    "boundaries": "district polygons on the maps (chapter 01) and access by district (chapter 03)",
    "population": "SDG 11.2.1 population coverage, urban and rural (chapter 03)",
    "gbfs": "bike share near transit stops (chapter 06)",
}

#: A stop farther than this from the feed's centre, and far beyond the rest, is reported.
FAR_STOP_KM = 50.0


@dataclass(frozen=True)
class Finding:
    """One problem or note.

    Attributes
    ----------
    severity : str
        ``fatal``, ``warning`` or ``info``.
    file : str
        The file concerned (a feed's table as ``.../gtfs.zip/stops.txt``).
    column, row : str
        Where in the file (row: 1-based data row, the header is row 0); may be empty.
    message : str
        What is wrong and what to do.
    """

    severity: str
    file: str
    column: str
    row: str
    message: str


def _f(sev: str, file: object, message: str, column: str = "", row: object = "") -> Finding:
    return Finding(sev, str(file), column, "" if row == "" or row is None else str(row), message)


_LOC_RE = re.compile(r"^(?P<file>.+?)(?:, line (?P<line>\d+))?(?:, column '(?P<col>[^']*)')?"
                     r"(?:, row (?P<row>\d+))?: (?P<msg>.*)$", re.S)


def _from_error(sev: str, exc: BaseException | str, default_file: object) -> list[Finding]:
    """Turn a citybridge error message ("file, column 'c', row r: text") into findings."""
    out = []
    for line in str(exc).split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("- ") and out:
            out[-1] = Finding(out[-1].severity, out[-1].file, out[-1].column, out[-1].row,
                              out[-1].message + "\n" + line)
            continue
        m = _LOC_RE.match(line)
        if m and ("/" in m["file"] or "\\" in m["file"] or "." in m["file"]) and " " not in m["file"].strip("'"):
            msg = f"line {m['line']}: {m['msg']}" if m["line"] else m["msg"]
            out.append(_f(sev, m["file"], msg, m["col"] or "", m["row"] or ""))
        else:
            out.append(_f(sev, default_file, line))
    return out or [_f(sev, default_file, str(exc))]


# --------------------------------------------------------------------------
# Feed checks
# --------------------------------------------------------------------------

def _row(mask) -> int:
    """1-based data row of the first True in a boolean array."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("").str.strip()


def _check_keys(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    stops, st, trips, routes = feed.stops, feed.stop_times, feed.trips, feed.routes
    for name, df, key in (("stops", stops, "stop_id"), ("routes", routes, "route_id"), ("trips", trips, "trip_id")):
        dup = df[key].duplicated()
        if dup.any():
            i = _row(dup)
            out.append(_f("fatal", f"{src}/{name}.txt", f"{int(dup.sum())} duplicate {key} value(s), first "
                          f"'{df[key].iloc[i - 1]}'; every {key} must be unique: rename or remove the repeated rows",
                          key, i))
    unknown_stop = ~st["stop_id"].isin(set(stops["stop_id"]))
    if unknown_stop.any():
        i = _row(unknown_stop)
        out.append(_f("warning", f"{src}/stop_times.txt", f"{int(unknown_stop.sum()):,} stop time(s) name a stop "
                      f"not in stops.txt (first '{st['stop_id'].iloc[i - 1]}'); they are left out of maps and "
                      "distances. Add the stops or correct the ids", "stop_id", i))
    if "location_type" in stops:
        lt = pd.to_numeric(stops["location_type"], errors="coerce").fillna(0)
        stations = set(stops.loc[lt == 1, "stop_id"])
        at_station = st["stop_id"].isin(stations)
        if at_station.any():
            i = _row(at_station)
            out.append(_f("warning", f"{src}/stop_times.txt", f"{int(at_station.sum()):,} stop time(s) name a parent "
                          f"station (location_type 1) instead of a stop or platform (first "
                          f"'{st['stop_id'].iloc[i - 1]}'); GTFS requires a stop; name the platform",
                          "stop_id", i))
    unknown_route = ~trips["route_id"].isin(set(routes["route_id"]))
    if unknown_route.any():
        i = _row(unknown_route)
        out.append(_f("warning", f"{src}/trips.txt", f"{int(unknown_route.sum()):,} trip(s) name a route not in "
                      f"routes.txt (first '{trips['route_id'].iloc[i - 1]}'); their mode is unknown ('other'). "
                      "Add the route or correct the id", "route_id", i))
    no_st = ~trips["trip_id"].isin(set(st["trip_id"]))
    if no_st.any():
        i = _row(no_st)
        out.append(_f("warning", f"{src}/trips.txt", f"{int(no_st.sum()):,} trip(s) have no stop times (first "
                      f"'{trips['trip_id'].iloc[i - 1]}'); they are ignored", "trip_id", i))
    no_trip = ~routes["route_id"].isin(set(trips["route_id"]))
    if no_trip.any():
        out.append(_f("info", f"{src}/routes.txt", f"{int(no_trip.sum()):,} route(s) have no trips and are left out "
                      "of every chapter", "route_id", _row(no_trip)))
    return out


def _check_routes(feed, src: str) -> list[Finding]:
    from .feed import mode_of

    out: list[Finding] = []
    modes = mode_of(feed.routes["route_type"])
    other = (modes == "other").to_numpy()
    if other.any():
        i = _row(other)
        out.append(_f("warning", f"{src}/routes.txt", f"{int(other.sum())} route(s) have a route_type the workbook "
                      f"does not map to a mode (first {feed.routes['route_type'].iloc[i - 1]}); they count as "
                      "'other'. Use a basic GTFS type (0-7, 11, 12) or an extended one (100-1700)",
                      "route_type", i))
    counts = modes.value_counts()
    out.append(_f("info", f"{src}/routes.txt", "modes: " + ", ".join(f"{m} {n}" for m, n in counts.items())
                  + " route(s)"))
    return out


def _check_trips(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    trips = feed.trips
    if "direction_id" not in trips.columns:
        out.append(_f("warning", f"{src}/trips.txt", "no direction_id column: the two directions of a route cannot "
                      "be told apart, so headways are computed as if all trips ran one way (both directions "
                      "together: headways look about twice as frequent). Add direction_id (0 or 1) if you can",
                      "direction_id"))
    else:
        d = pd.to_numeric(trips["direction_id"], errors="coerce")
        blank = d.isna().to_numpy()
        if blank.any():
            out.append(_f("warning", f"{src}/trips.txt", f"{int(blank.sum()):,} trip(s) have a blank direction_id; "
                          "they are treated as direction 0", "direction_id", _row(blank)))
        odd = (d.notna() & ~d.isin([0, 1])).to_numpy()
        if odd.any():
            i = _row(odd)
            out.append(_f("warning", f"{src}/trips.txt", f"{int(odd.sum()):,} trip(s) have a direction_id other than "
                          f"0 or 1 (first {d.iloc[i - 1]}); write 0 or 1", "direction_id", i))
    return out


def _check_times(feed, src: str) -> list[Finding]:
    from .feed import times_to_seconds

    out: list[Finding] = []
    st = feed.stop_times
    f = f"{src}/stop_times.txt"
    cols = [c for c in ("arrival_time", "departure_time") if c in st.columns]
    secs = {}
    for c in cols:
        raw = _text(st[c])
        s = times_to_seconds(raw)
        bad = ((raw != "") & s.isna()).to_numpy()
        if bad.any():
            i = _row(bad)
            out.append(_f("warning", f, f"{int(bad.sum()):,} value(s) are not times written H:MM:SS (first "
                          f"'{raw.iloc[i - 1]}'); they are treated as blank. Write e.g. 07:05:00, or 25:10:00 "
                          "for 1:10 after midnight of the service day", c, i))
        big = (s > 48 * 3600).to_numpy()
        if big.any():
            i = _row(big)
            out.append(_f("warning", f, f"{int(big.sum()):,} time(s) are more than 48 hours after midnight (first "
                          f"'{raw.iloc[i - 1]}'); check the hours", c, i))
        secs[c] = s
    if not secs:
        return out
    dep = secs.get("departure_time", pd.Series(np.nan, index=st.index))
    arr = secs.get("arrival_time", pd.Series(np.nan, index=st.index))
    t = dep.fillna(arr)
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce")
    order = pd.DataFrame({"trip": st["trip_id"].astype(str).to_numpy(), "seq": seq.to_numpy(),
                          "t": t.to_numpy(), "a": arr.fillna(dep).to_numpy(), "row": np.arange(1, len(st) + 1)})
    order = order.sort_values(["trip", "seq"], kind="stable")
    g = order.groupby("trip", sort=False)
    first = g.cumcount() == 0
    last = g.cumcount(ascending=False) == 0
    blank = order["t"].isna()
    ends = blank & (first | last)
    mid = blank & ~(first | last)
    if mid.any():
        out.append(_f("info", f, f"{int(mid.sum()):,} blank intermediate stop time(s) (stops without a published "
                      "time) are interpolated linearly between the timed stops of their trip", "departure_time",
                      int(order.loc[mid, "row"].min())))
    if ends.any():
        n_trips = order.loc[ends, "trip"].nunique()
        out.append(_f("warning", f, f"{n_trips:,} trip(s) have no time at their first or last stop "
                      f"({int(ends.sum()):,} stop time(s)); those untimed ends are dropped, so the trips look "
                      "shorter. GTFS requires times at both ends: add them", "departure_time",
                      int(order.loc[ends, "row"].min())))
    timed = order.dropna(subset=["t"])
    prev = timed.groupby("trip", sort=False)["t"].shift()
    back = (timed["a"] < prev).to_numpy()
    if back.any():
        i = int(timed["row"].to_numpy()[np.flatnonzero(back)[0]])
        out.append(_f("warning", f, f"{int(back.sum()):,} stop time(s) are earlier than the previous stop of their "
                      f"trip (first trip '{timed['trip'].to_numpy()[np.flatnonzero(back)[0]]}'); check the times and "
                      "stop_sequence; speeds on those segments are wrong", "arrival_time", i))
    return out


def _haversine_km(lat1, lon1, lat2, lon2):
    p = np.pi / 180
    a = (np.sin((lat2 - lat1) * p / 2) ** 2 +
         np.cos(lat1 * p) * np.cos(lat2 * p) * np.sin((lon2 - lon1) * p / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _check_stops(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    stops = feed.stops
    f = f"{src}/stops.txt"
    ok = stops["stop_lat"].notna() & stops["stop_lon"].notna()
    lat, lon = stops["stop_lat"].astype(float), stops["stop_lon"].astype(float)
    if ok.sum() >= 3:
        mlat, mlon = lat[ok].median(), lon[ok].median()
        d = pd.Series(_haversine_km(mlat, mlon, lat.to_numpy(), lon.to_numpy()), index=stops.index)
        typical = float(d[ok].median())
        limit = max(FAR_STOP_KM, 10 * typical)
        far = (ok & (d > limit)).to_numpy()
        if far.any():
            i = _row(far)
            out.append(_f("warning", f, f"{int(far.sum())} stop(s) lie far from the others (first "
                          f"'{stops['stop_id'].iloc[i - 1]}', {d.iloc[i - 1]:,.0f} km from the centre of the "
                          f"network, where half of the stops are within {typical:,.0f} km); check the coordinates "
                          "(a digit or sign may be wrong). Maps zoom out to include them", "stop_lat", i))
        if (lat[ok].abs() > 66).all():
            out.append(_f("warning", f, "every stop lies beyond the polar circles; check that stop_lat and "
                          "stop_lon are not swapped", "stop_lat"))
    if "parent_station" in stops:
        has_parent = _text(stops["parent_station"]) != ""
        if has_parent.any():
            out.append(_f("info", f, f"{int(has_parent.sum()):,} platform(s) or entrance(s) belong to parent stations; "
                          "a station is counted once for access", "parent_station"))
            unknown = has_parent & ~_text(stops["parent_station"]).isin(set(stops["stop_id"]))
            if unknown.any():
                i = _row(unknown)
                out.append(_f("warning", f, f"{int(unknown.sum()):,} stop(s) name a parent_station that is not in "
                              f"stops.txt (first '{stops['parent_station'].iloc[i - 1]}'); they are treated as "
                              "stations of their own", "parent_station", i))
    names = _text(stops["stop_name"]) if "stop_name" in stops else pd.Series("", index=stops.index)
    if (names == "").any():
        blank = (names == "").to_numpy()
        out.append(_f("info", f, f"{int(blank.sum()):,} stop(s) have no stop_name; maps show their id instead",
                      "stop_name", _row(blank)))
    return out


def _check_agency(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    ag = getattr(feed, "agency", None)
    f = f"{src}/agency.txt"
    if ag is None or ag.empty:
        return [_f("warning", f, "agency.txt has no rows; add the operator's name and time zone")]
    for col in ("agency_name", "agency_timezone"):
        if col not in ag.columns or (_text(ag[col]) == "").all():
            out.append(_f("warning", f, f"no {col}; add it (new-city uses it for the city's "
                          f"{'name' if col == 'agency_name' else 'time zone'})", col))
    if "agency_timezone" in ag.columns:
        from .newcity import _valid_timezone

        for i, tz in enumerate(_text(ag["agency_timezone"]), start=1):
            if tz and not _valid_timezone(tz):
                out.append(_f("warning", f, f"'{tz}' is not a known time zone; write an IANA name such as "
                              "America/Santiago or Asia/Shanghai", "agency_timezone", i))
                break
    return out


def _check_files(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    if getattr(feed, "shapes", None) is None or feed.shapes.empty:
        out.append(_f("info", f"{src}/shapes.txt", "absent: route lines are drawn straight from stop to stop and "
                      "route-km are measured the same way"))
    fr = getattr(feed, "frequencies", None)
    if fr is not None and not fr.empty:
        out.append(_f("info", f"{src}/frequencies.txt", f"{len(fr):,} frequency row(s): their trips are expanded "
                      "into concrete departures (start + k x headway, before the end time)"))
    cal = getattr(feed, "calendar", None)
    if cal is None or cal.empty:
        out.append(_f("info", f"{src}/calendar_dates.txt", "no calendar.txt: service days come from "
                      "calendar_dates.txt only"))
    return out


def _check_feed_tables(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    for check in (_check_agency, _check_keys, _check_routes, _check_trips, _check_times, _check_stops, _check_files):
        out += check(feed, src)
    for note in getattr(feed, "notes", []):
        # repairs that cannot change a result are notes; guesses (encodings, ignored values) are warnings
        sev = "info" if "entrance" in note else "warning"
        out.append(_f(sev, src, note))
    return out


# --------------------------------------------------------------------------
# City checks: the profile and the optional inputs
# --------------------------------------------------------------------------

def _check_optional(city) -> list[Finding]:
    out: list[Finding] = []
    yml = city.folder / "city.yml"
    present = {}
    for kind in ("boundaries", "population", "gbfs"):
        p = city.optional_path(kind)
        if p is None:
            out.append(_f("info", yml, f"no '{kind}' given: add it to unlock {UNLOCKS[kind]} "
                          "(see the Trainers' guide)"))
        elif not p.exists():
            out.append(_f("fatal", p, f"named by '{kind}' in city.yml but missing, so the build refuses this city: "
                          f"add the file, or remove '{kind}' from city.yml (the chapters then skip {UNLOCKS[kind]})",
                          kind))
        else:
            present[kind] = p
    if "boundaries" in present:
        from .inputs import read_geo

        try:
            b = read_geo(present["boundaries"], what="boundaries", hint="give a GeoJSON or GeoPackage of polygons")
        except CitybridgeError as exc:
            return out + [Finding("fatal", x.file, x.column, x.row, x.message + " (chapters 01 and 03 would fail: "
                                  "fix the file, or remove 'boundaries' from city.yml)")
                          for x in _from_error("fatal", exc, present["boundaries"])]
        out += check_boundary_geometry(city, b)
        spec = city.profile.boundaries
        for key, col in (("id_column", spec.id_column), ("name_column", spec.name_column)):
            if col not in b.columns:
                out.append(_f("fatal", present["boundaries"], f"column '{col}' (boundaries.{key} in city.yml) is "
                              f"not in the file; columns present: {', '.join(c for c in b.columns if c != 'geometry')}. "
                              f"Correct boundaries.{key}", col))
    if "boundaries" in present and "population" in present and not any(x.severity == "fatal" for x in out):
        from .access import districts

        try:
            d = districts(city)
            out.append(_f("info", present["population"], f"{len(d):,} districts with {d['population'].sum():,.0f} "
                          "people joined to the boundaries"))
        except CitybridgeError as exc:
            out += [Finding("warning", x.file, x.column, x.row, x.message + " (chapter 03 shows this instead of "
                            "access results)") for x in _from_error("warning", exc, present["population"])]
    elif "population" in present and "boundaries" not in present and city.profile.boundaries is None:
        out.append(_f("warning", present["population"], "a population table without boundaries cannot be used: "
                      "population is joined to district polygons. Add 'boundaries' to city.yml"))
    if "gbfs" in present:
        from .inputs import read_gbfs

        try:
            bikes = read_gbfs(present["gbfs"])
            out.append(_f("info", present["gbfs"], f"bike share: {len(bikes):,} stations"))
        except CitybridgeError as exc:
            out += [Finding("fatal", x.file, x.column, x.row, x.message + " (chapter 06 would fail: fix the file "
                            "or remove 'gbfs' from city.yml)") for x in _from_error("fatal", exc, present["gbfs"])]
    return out


def check_crs(city) -> list[Finding]:
    """The profile's ``crs`` must be a known projected CRS measured in metres:
    with a geographic CRS (EPSG:4326) every distance would come out in
    degrees, and an unknown code makes every chapter fail."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    yml = city.folder / "city.yml"
    code = city.profile.crs
    hint = "write the metric UTM zone of the city (e.g. EPSG:32719 for Santiago, EPSG:32650 for Hangzhou)"
    try:
        crs = CRS.from_user_input(code)
    except CRSError:
        return [_f("fatal", yml, f"crs '{code}' is not a known coordinate reference system, so no distance can be "
                   f"measured and every chapter would fail; {hint}", "crs")]
    unit = (crs.axis_info[0].unit_name if crs.axis_info else "") or ""
    if crs.is_geographic or not crs.is_projected:
        return [_f("fatal", yml, f"crs '{code}' ({crs.name}) is geographic: distances would come out in degrees "
                   f"(service-km and speeds near 0); {hint}", "crs")]
    if unit and unit.lower() not in ("metre", "meter", "m"):
        return [_f("fatal", yml, f"crs '{code}' ({crs.name}) measures in {unit}, not metres; {hint}", "crs")]
    return []


def check_gtfs_path(city) -> list[Finding]:
    """The profile's ``gtfs`` must name a file (the build reads a zip), not a folder."""
    p = city.gtfs_path
    if p.is_dir():
        return [_f("fatal", city.folder / "city.yml", f"'gtfs' names the folder {city.profile.gtfs}/, but a city's "
                   "feed must be a zip file: zip the folder's .txt files (at the top level of the archive) into "
                   "gtfs.zip and set 'gtfs: gtfs.zip'", "gtfs")]
    return []


def check_boundary_geometry(city, b=None) -> list[Finding]:
    """Boundaries must be polygons: a feature with no geometry or of another
    type (Point, LineString) is fatal (population and access by district
    would silently come out 0 %); a self-intersecting polygon is a warning
    (areas and coverage change)."""
    path = city.optional_path("boundaries")
    if path is None or not path.exists():
        return []
    from .inputs import geometry_problems, read_geo

    if b is None:
        try:
            b = read_geo(path, what="boundaries")
        except CitybridgeError:  # reported by _check_optional
            return []
    out: list[Finding] = []
    geom = b.geometry
    problems = geometry_problems(geom)
    empty, other, bad = problems["empty"], problems["other"], problems["invalid"]
    if empty.any():
        i = _row(empty)
        out.append(_f("fatal", path, f"{int(empty.sum()):,} feature(s) have no geometry (first row {i}); each "
                      "district needs its polygon: add it or delete the feature", "geometry", i))
    kinds = geom.geom_type.fillna("")
    if other.any():
        i = _row(other)
        out.append(_f("fatal", path, f"{int(other.sum()):,} feature(s) are not polygons (first row {i}: "
                      f"{kinds.iloc[i - 1]}); boundaries must be district polygons (a point or line has no area, "
                      "so its population would count as not served)", "geometry", i))
    if bad.any():
        i = _row(bad)
        from shapely.validation import explain_validity

        why = explain_validity(geom.iloc[i - 1])
        out.append(_f("warning", path, f"{int(bad.sum()):,} polygon(s) are not valid (first row {i}: {why}); "
                      "areas, densities and coverage may be wrong (the chapters repair them with make_valid). "
                      "Repair them in the file (QGIS: Fix geometries; shapely: make_valid)", "geometry", i))
    return out


def blocking_problems(city) -> list[Finding]:
    """The fatal problems of a city's inputs that would make its chapters fail
    or show nonsense (CRS, feed named as a folder, boundaries that are not
    polygons). Cheap (no feed is read): :func:`citybridge.pipeline.plan`
    builds only chapter 00 of a city that has any, so they are shown there."""
    out = check_crs(city) + check_gtfs_path(city)
    out += [f for f in check_boundary_geometry(city) if f.severity == "fatal"]
    return out


def _check_profile(city) -> list[Finding]:
    out: list[Finding] = []
    yml = city.folder / "city.yml"
    from .newcity import _valid_timezone

    out += check_crs(city) + check_gtfs_path(city)

    if not _valid_timezone(city.profile.timezone):
        out.append(_f("warning", yml, f"timezone '{city.profile.timezone}' is not a known time zone; write an IANA "
                      "name such as America/Santiago", "timezone"))
    needed = ("grid_kgco2_per_kwh", "diesel_kgco2_per_litre", "diesel_bus_litres_per_100km", "ebus_kwh_per_km")
    absent = [name for name in needed if getattr(city.profile.parameters, name) is None]
    if absent:
        out.append(_f("warning", yml, f"no emission parameter(s) {', '.join(absent)}: chapter 05 (low carbon) "
                      "cannot compute bus CO2 without all four; add them under 'parameters' with value, unit, "
                      "year and source (city.yml written by new-city has a commented template)", "parameters"))
    for name, par in city.profile.parameters:
        if par is not None and not par.solid:
            out.append(_f("warning", yml, f"parameter '{name}' has no solid source ({par.note or par.source}); "
                          "results using it are flagged", name))
    if city.profile.fleet_classes is None:
        out.append(_f("info", yml, "no 'fleet_classes' given: add the shares of bus-km by fuel and Euro class (each "
                      "with year and source, or assumed: true) to unlock bus NOx and PM2.5 in chapter 05",
                      "fleet_classes"))
    if city.profile.download:
        out.append(_f("info", yml, "a download is declared: 'citybridge fetch' refreshes gtfs.zip and checks its "
                      "sha256", "download"))
    return out


def _gbfs_swapped(city, feed) -> list[Finding]:
    """Bike stations whose latitude and longitude are exchanged, judged against the feed's stops."""
    path = city.optional_path("gbfs")
    if path is None or not path.exists():
        return []
    from .inputs import read_gbfs
    from .multimodal import swapped_against

    try:
        bikes = read_gbfs(path)
    except Exception:  # noqa: BLE001 - reported by _check_optional
        return []
    if swapped_against(bikes, feed.stops):
        return [_f("fatal", path, f"the bike stations (median lat {bikes['lat'].median():.4f}, lon "
                   f"{bikes['lon'].median():.4f}) lie far from the transit stops but would sit among them with "
                   "latitude and longitude swapped; exchange 'lat' and 'lon' in station_information.json",
                   "lat")]
    return []


def _outside_boundaries(city, feed) -> list[Finding]:
    path = city.optional_path("boundaries")
    if path is None or not path.exists():
        return []
    from .inputs import WGS84, read_geo

    try:
        b = read_geo(path, what="boundaries").to_crs(WGS84)
    except CitybridgeError:  # reported by _check_optional
        return []
    minx, miny, maxx, maxy = b.total_bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return []
    pad = 0.05
    s = feed.stops
    out_mask = (s["stop_lon"] < minx - pad) | (s["stop_lon"] > maxx + pad) | \
               (s["stop_lat"] < miny - pad) | (s["stop_lat"] > maxy + pad)
    out_mask &= s["stop_lat"].notna()
    if out_mask.any():
        i = _row(out_mask)
        return [_f("warning", f"{city.gtfs_path}/stops.txt", f"{int(out_mask.sum())} stop(s) lie outside the "
                   f"boundaries' extent (first '{s['stop_id'].iloc[i - 1]}'); check the coordinates and the "
                   "declared source_datum", "stop_lat", i)]
    return []


def _check_realtime(city, feed) -> list[Finding]:
    """Realtime inputs (city.yml 'realtime'): see :func:`citybridge.realtime.check_realtime`."""
    from .realtime import check_realtime

    s = feed.stops
    ok = s["stop_lat"].notna() & s["stop_lon"].notna()
    bbox = None
    if ok.any():
        pad = 0.1
        bbox = (float(s.loc[ok, "stop_lon"].min()) - pad, float(s.loc[ok, "stop_lat"].min()) - pad,
                float(s.loc[ok, "stop_lon"].max()) + pad, float(s.loc[ok, "stop_lat"].max()) + pad)
    return [_f(sev, file, msg + (" (chapter 08 shows this instead of its results)" if sev == "warning" else ""),
               col, row) for sev, file, col, row, msg in check_realtime(city, bbox=bbox)]


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

def _resolve(target: str | os.PathLike[str]):
    """(city or None, gtfs path or None, findings) for a slug, city folder or feed."""
    from .city import City, SLUG_RE, load_city

    t = Path(target)
    text = str(target)
    if t.is_dir() and (t / "city.yml").is_file() or (not t.exists() and SLUG_RE.match(text)):
        try:
            city: City = load_city(target, check_files=False)
        except CitybridgeError as exc:
            return None, None, _from_error("fatal", exc, target)
        return city, city.gtfs_path, []
    if t.is_dir() and ((t / "stops.txt").exists() or any(t.glob("*.txt"))):
        return None, t, []
    if t.is_file() and t.suffix.lower() == ".zip":
        return None, t, []
    if t.is_dir():
        return None, None, [_f("fatal", t, "neither a city folder (no city.yml) nor a GTFS folder (no .txt "
                               "tables); give a city slug, a city folder, or a GTFS .zip/folder")]
    if not t.exists():
        return None, None, [_f("fatal", t, "no such file, folder or city; give a city slug (see data/cities), a "
                               "city folder, or a GTFS .zip/folder")]
    return None, None, [_f("fatal", t, "not a GTFS feed: give the feed as a .zip file or a folder of .txt "
                           "files, or a city slug/folder")]


def validate(target: str | os.PathLike[str], *, date: str | None = None) -> list[Finding]:
    """All findings for a city slug, a city folder, or a GTFS zip/folder.

    Parameters
    ----------
    target
        ``"santiago"``, ``data/cities/santiago``, ``feed.zip`` or a feed folder.
    date
        ``YYYYMMDD`` for the service-day check; default the date the chapters use.

    Never raises and never writes: every problem is a :class:`Finding`.
    """
    try:
        return _validate(target, date=date)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a check must never end in a traceback
        return [_f("fatal", target, f"internal error while checking ({type(exc).__name__}: {exc}); this is a "
                   "bug in citybridge: please report it together with the file")]


def _validate(target, *, date: str | None) -> list[Finding]:
    from .feed import choose_date, date_choice_note, feed_date_range, prepare_day, read_feed, require_rows

    city, gtfs, findings = _resolve(target)
    if gtfs is None:
        return findings
    datum = "WGS84"
    if city is not None:
        datum = city.profile.source_datum
        findings += _check_profile(city)
        findings += _check_optional(city)
        if gtfs.is_dir():
            return findings
        if not gtfs.exists():
            hint = (" or run 'citybridge fetch " + city.slug + "' to download it") if city.profile.download else ""
            findings.append(_f("fatal", gtfs, f"the GTFS feed named by 'gtfs' in city.yml is missing; put the "
                               f"feed's zip there{hint}", "gtfs"))
            return findings
    try:
        feed = read_feed(gtfs, datum=datum)
        require_rows(feed, gtfs)
    except CitybridgeError as exc:
        return findings + _from_error("fatal", exc, gtfs)
    findings += _check_feed_tables(feed, str(gtfs))
    if city is not None:
        findings += _outside_boundaries(city, feed)
        findings += _gbfs_swapped(city, feed)
        findings += _check_realtime(city, feed)
    else:
        findings.append(_f("info", gtfs, "a bare feed: to build its chapters, make it a city with "
                           "'citybridge new-city SLUG --gtfs " + str(gtfs) + "'"))
    try:
        chosen = not date
        date = date or choose_date(feed)
        day = prepare_day(feed, date, crs=city.profile.crs if city is not None else None)
        if chosen:
            findings += [_f("info", gtfs, note) for note in date_choice_note(day.date)]
        lo, hi = feed_date_range(feed)
        findings.append(_f("info", gtfs, f"service from {lo:%Y%m%d} to {hi:%Y%m%d}; analysis date {day.date}: "
                           f"{len(day.trips):,} trips on {day.trips['route_id'].nunique():,} routes, "
                           f"{day.stop_times['stop_id'].nunique():,} stops served"))
    except CitybridgeError as exc:
        findings += _from_error("fatal", exc, gtfs)
    return findings


def findings_table(findings: list[Finding], *, relative_to: Path | None = None) -> pd.DataFrame:
    """Findings as a table: severity, file, column, row, message (most severe first).

    ``relative_to`` shortens file paths (e.g. to the city folder).
    """
    df = pd.DataFrame([f.__dict__ for f in findings], columns=["severity", "file", "column", "row", "message"])
    if relative_to is not None:
        df["file"] = [_short(f, Path(relative_to)) for f in df["file"]]
    df["severity"] = pd.Categorical(df["severity"], SEVERITIES, ordered=True)
    return df.sort_values("severity", kind="stable").reset_index(drop=True)


def exit_code(findings: list[Finding]) -> int:
    """0 clean (notes only), 1 warnings, 2 fatal."""
    sev = {f.severity for f in findings}
    return 2 if "fatal" in sev else 1 if "warning" in sev else 0


def _short(file: str, base: Path | None = None) -> str:
    base = base or Path.cwd()
    try:
        rel = os.path.relpath(file, base)
    except ValueError:
        return file
    return rel if not rel.startswith("..") else file


_HEAD = {
    "fatal": "FATAL: the city cannot be built (or a chapter will fail) until these are fixed",
    "warning": "WARNINGS: the city builds, but a result may be wrong",
    "info": "NOTES: what was assumed, and what optional files would unlock",
}
_VERDICT = {0: "OK", 1: "usable, with warnings", 2: "NOT usable yet"}


def print_report(findings: list[Finding], target: object, stream=None) -> int:
    """Print findings grouped by severity and return the exit code.

    Each finding shows where (file, column, row) and what to do; lines are
    wrapped at 100 characters.
    """
    stream = stream or sys.stdout
    code = exit_code(findings)
    n = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    print(f"citybridge validate {target}: {_VERDICT[code]} ({n['fatal']} fatal, {n['warning']} warning(s), "
          f"{n['info']} note(s)); exit code {code}", file=stream)
    k = 0
    for sev in SEVERITIES:
        items = [x for x in findings if x.severity == sev]
        if not items:
            continue
        print(f"\n{_HEAD[sev]}", file=stream)
        for f in items:
            k += 1
            loc = ", ".join(x for x in (_short(f.file), f"column '{f.column}'" if f.column else "",
                                        f"row {f.row}" if f.row else "") if x)
            print(f"{k:3}. {loc}:", file=stream)
            for para in f.message.split("\n"):
                print(textwrap.fill(para, width=100, initial_indent="     ", subsequent_indent="     ",
                                    break_long_words=False, break_on_hyphens=False), file=stream)
    if code == 2:
        print("\nFix the FATAL items first, then run this command again.", file=stream)
    elif code == 1:
        print("\nThe city can be built (citybridge build); check each warning against the results.", file=stream)
    return code


# --------------------------------------------------------------------------
# Tables for chapter 00
# --------------------------------------------------------------------------

def inputs_table(city) -> pd.DataFrame:
    """The city's inputs: which are given, present, their size and what they unlock.

    Returns
    -------
    DataFrame
        ``input`` (gtfs, boundaries, population, gbfs), ``file`` (relative to
        the city folder, empty when not given), ``status`` (``present``,
        ``missing``, ``not given``), ``size_kb`` (kilobytes, NaN when absent),
        ``unlocks`` (what it is used for).
    """
    rows = []
    unlocks = {"gtfs": "every chapter (required)", **UNLOCKS}
    for kind in ("gtfs", "boundaries", "population", "gbfs"):
        p = city.gtfs_path if kind == "gtfs" else city.optional_path(kind)
        if p is None:
            rows.append((kind, "", "not given", np.nan, unlocks[kind]))
            continue
        if p.is_dir():
            size = sum(q.stat().st_size for q in p.rglob("*") if q.is_file())
        else:
            size = p.stat().st_size if p.exists() else np.nan
        rows.append((kind, _short(str(p), city.folder), "present" if p.exists() else "missing",
                     size / 1024 if size == size else np.nan, unlocks[kind]))
    return pd.DataFrame(rows, columns=["input", "file", "status", "size_kb", "unlocks"])


def feed_inventory(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tables of a GTFS feed: ``file``, ``rows`` (data rows, int) and ``columns`` (their names).

    Raises
    ------
    FeedError
        The feed cannot be read (see :func:`citybridge.feed.read_tables`).
    """
    from .feed import read_tables

    tables, _ = read_tables(Path(path))
    rows = [(f"{name}.txt", len(df), ", ".join(map(str, df.columns))) for name, df in sorted(tables.items())]
    return pd.DataFrame(rows, columns=["file", "rows", "columns"])


def agencies_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The operators listed in ``agency.txt``: ``agency_name``, ``agency_timezone``, ``agency_url``
    (empty where absent), exactly as written in the feed."""
    from .feed import read_tables

    tables, _ = read_tables(Path(path))
    ag = tables.get("agency", pd.DataFrame())
    cols = ["agency_name", "agency_timezone", "agency_url"]
    return pd.DataFrame({c: ag[c] if c in ag else [""] * len(ag) for c in cols})


def summary_sentence(findings: list[Finding], name: str) -> str:
    """One sentence: how many problems of each kind, and whether the city can be built."""
    n = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    verdict = {0: "its data pass every check", 1: "it can be built, but check the warnings below",
               2: "it cannot be fully built until the fatal problems below are fixed"}[exit_code(findings)]
    return (f"{name}: {n['fatal']} fatal problem(s), {n['warning']} warning(s) and {n['info']} note(s); "
            f"{verdict}.")
