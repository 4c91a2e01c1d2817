"""Rebuild the illustrative sample cities (Santiago, Hangzhou) from their network tables.

The sample cities are **illustrative teaching data built from public facts** —
real station coordinates, line orders, published headways, census populations
and boundaries — plus stated assumptions (an invented bus network, assumed
speeds, approximate water-bus piers, invented bike-share stations). They are
not the operators' schedules. Every input lives under ``data/samples/<slug>/``
with its source; ``data/README.md`` lists them.

:func:`build_samples` writes, for each city, ``data/cities/<slug>/``:

``city.yml``
    the profile (static part from ``profile.yml``; class rule, fleet,
    parameters and facts from the tables), validated against
    :class:`citybridge.city.CityProfile`.
``gtfs.zip``
    Santiago is frequency-based like the official DTPM feed (one template trip
    per route, direction and service, plus ``frequencies.txt`` with
    ``exact_times=0``); Hangzhou is timetable-based (a stop time for every
    trip, no ``frequencies.txt``). Bus trips carry a ``vehicle_energy`` column.
    The feeds are written here with :mod:`zipfile`, not with make-gtfs, because
    make-gtfs does not write ``frequencies.txt``.
``boundaries.geojson``, ``population.csv``
    districts with population, area, density and an urban/rural class.
``gbfs/``
    GBFS v2.3 ``gbfs.json``, ``system_information.json``,
    ``station_information.json`` and ``station_status.json`` with illustrative
    station positions.

Everything is deterministic: the same inputs give the same bytes (sorted rows,
fixed float formatting, a seeded :class:`random.Random`, fixed zip timestamps).

Example
-------
>>> from citybridge_samples import build_samples
>>> paths = build_samples()        # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
import random

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from citybridge.city import CityProfile, project_root

from .files import (ZIP_DATE_TIME, csv_text, f6, hhmmss, json_text, read_csv, read_yaml,  # noqa: F401
                    seconds_of, write_text, write_zip)
from citybridge.errors import DataError, where

__all__ = ["SAMPLE_SLUGS", "build_samples", "build_city"]

#: The sample cities, in build order.
SAMPLE_SLUGS = ("santiago", "hangzhou")

#: Calendar of the sample feeds.
CALENDAR_START, CALENDAR_END = "20260101", "20261231"
#: ``last_updated`` of the GBFS files (2026-01-01T00:00:00Z).
GBFS_LAST_UPDATED = 1767225600
SERVICES = ("weekday", "saturday", "sunday")
EARTH_RADIUS_M = 6371008.8

_PEAK_BANDS = ("am_peak", "pm_peak")


# --------------------------------------------------------------------------- helpers


class _Local:
    """Equirectangular projection around a centre: metres east/north."""

    def __init__(self, lat0: float, lon0: float):
        self.lat0, self.lon0 = lat0, lon0
        self.kx = EARTH_RADIUS_M * math.cos(math.radians(lat0)) * math.pi / 180.0
        self.ky = EARTH_RADIUS_M * math.pi / 180.0

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def ll(self, x: float, y: float) -> tuple[float, float]:
        return self.lat0 + y / self.ky, self.lon0 + x / self.kx

    def dist(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        ax, ay = self.xy(*a)
        bx, by = self.xy(*b)
        return math.hypot(bx - ax, by - ay)


# --------------------------------------------------------------------------- feed model

@dataclass
class _Stop:
    stop_id: str
    name: str
    lat: float
    lon: float
    code: str = ""
    desc: str = ""
    approximate: int = 0


@dataclass
class _Pattern:
    """An ordered stop list with cumulative distance (m) and time (s)."""

    stops: list[str]
    dist_m: list[float]
    time_s: list[float]

    @property
    def duration(self) -> float:
        return self.time_s[-1]


@dataclass
class _Feed:
    proj: _Local
    stops: dict[str, _Stop] = field(default_factory=dict)
    routes: list[list] = field(default_factory=list)
    trips: list[list] = field(default_factory=list)
    stop_times: list[list] = field(default_factory=list)
    frequencies: list[list] = field(default_factory=list)
    _bus_grid: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    _bus_count: int = 0
    _label_count: dict[str, int] = field(default_factory=dict)

    def add_stop(self, stop: _Stop) -> str:
        if stop.stop_id not in self.stops:
            self.stops[stop.stop_id] = stop
        return stop.stop_id

    def bus_stop(self, lat: float, lon: float, label: str, *, exact: bool, merge_m: float,
                 exclude: set[str]) -> str:
        """A bus stop at (lat, lon): an existing bus stop within ``merge_m`` is
        reused unless it is in ``exclude`` (already on the pattern)."""
        x, y = self.proj.xy(lat, lon)
        cell = (int(math.floor(x / 200.0)), int(math.floor(y / 200.0)))
        best, best_d = None, merge_m
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for sid in self._bus_grid.get((cell[0] + dx, cell[1] + dy), ()):
                    if sid in exclude:
                        continue
                    s = self.stops[sid]
                    sx, sy = self.proj.xy(s.lat, s.lon)
                    d = math.hypot(sx - x, sy - y)
                    if d <= best_d:
                        best, best_d = sid, d
        if best is not None:
            return best
        self._bus_count += 1
        sid = f"B{self._bus_count:04d}"
        if exact:
            name = label
        else:
            short = label.split(" (")[0]
            k = self._label_count.get(short, 0) + 1
            self._label_count[short] = k
            name = f"{short} · {k}"
        self.stops[sid] = _Stop(sid, name, round(lat, 6), round(lon, 6),
                                desc="illustrative bus stop (sample network)")
        self._bus_grid.setdefault(cell, []).append(sid)
        return sid

    def pattern(self, stop_ids: list[str], seg_time) -> _Pattern:
        """Cumulative distances and times; ``seg_time(a, b, d_m)`` gives seconds."""
        dist, times = [0.0], [0.0]
        for a, b in zip(stop_ids, stop_ids[1:]):
            sa, sb = self.stops[a], self.stops[b]
            d = self.proj.dist((sa.lat, sa.lon), (sb.lat, sb.lon))
            dist.append(dist[-1] + d)
            times.append(times[-1] + seg_time(sa, sb, d))
        return _Pattern(list(stop_ids), dist, times)

    def add_trip(self, route_id: str, service: str, trip_id: str, headsign: str, direction: int,
                 energy: str, pattern: _Pattern, start_s: int, factor: float = 1.0) -> None:
        self.trips.append([route_id, service, trip_id, headsign, direction, energy])
        for i, (sid, d, t) in enumerate(zip(pattern.stops, pattern.dist_m, pattern.time_s), start=1):
            hms = hhmmss(start_s + int(round(t * factor)))
            self.stop_times.append([trip_id, hms, hms, sid, i, f"{d / 1000.0:.3f}"])

    # ------------------------------------------------------------------ writing
    def write_zip(self, path: Path, *, agencies: list[list], holidays: list[dict[str, str]],
                  feed_info: list, written: list[Path]) -> dict[str, int]:
        # Written with zipfile on purpose, not with make-gtfs: make-gtfs does not
        # write frequencies.txt, which the Santiago sample needs. Entries are
        # sorted, with a fixed timestamp and permissions, so the bytes are stable.
        tables: dict[str, str] = {}
        tables["agency.txt"] = csv_text(
            ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"], sorted(agencies))
        stops = sorted(self.stops.values(), key=lambda s: s.stop_id)
        tables["stops.txt"] = csv_text(
            ["stop_id", "stop_code", "stop_name", "stop_desc", "stop_lat", "stop_lon", "location_type",
             "position_approximate"],
            [[s.stop_id, s.code, s.name, s.desc, f6(s.lat), f6(s.lon), 0, s.approximate] for s in stops])
        tables["routes.txt"] = csv_text(
            ["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type",
             "route_color", "route_text_color", "service_kind"], sorted(self.routes))
        trips = sorted(self.trips, key=lambda r: r[2])
        tables["trips.txt"] = csv_text(
            ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "vehicle_energy"], trips)
        st = sorted(self.stop_times, key=lambda r: (r[0], r[4]))
        tables["stop_times.txt"] = csv_text(
            ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled"], st)
        if self.frequencies:
            tables["frequencies.txt"] = csv_text(
                ["trip_id", "start_time", "end_time", "headway_secs", "exact_times"],
                sorted(self.frequencies, key=lambda r: (r[0], r[1])))
        tables["calendar.txt"] = csv_text(
            ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
             "start_date", "end_date"],
            [["saturday", 0, 0, 0, 0, 0, 1, 0, CALENDAR_START, CALENDAR_END],
             ["sunday", 0, 0, 0, 0, 0, 0, 1, CALENDAR_START, CALENDAR_END],
             ["weekday", 1, 1, 1, 1, 1, 0, 0, CALENDAR_START, CALENDAR_END]])
        cd = []
        for h in holidays:
            day = h["date"].replace("-", "")
            cd.append([h["remove_service"], day, 2])
            cd.append([h["add_service"], day, 1])
        tables["calendar_dates.txt"] = csv_text(["service_id", "date", "exception_type"], sorted(cd))
        tables["feed_info.txt"] = csv_text(
            ["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date",
             "feed_version"], [feed_info])
        write_zip(path, tables, written)
        return {"stop_times": len(st), "trips": len(trips), "stops": len(stops), "routes": len(self.routes),
                "frequencies": len(self.frequencies)}


# --------------------------------------------------------------------------- shared pieces

def _bands(rows: list[dict[str, str]]) -> dict[str, list[tuple[str, str, int, int]]]:
    """service_bands.csv as {day_type: [(band, day_type, start_s, end_s), ...]}."""
    out: dict[str, list[tuple[str, str, int, int]]] = {d: [] for d in SERVICES}
    for r in rows:
        out[r["day_type"]].append((r["band"], r["day_type"], seconds_of(r["start"]), seconds_of(r["end"])))
    for d in out:
        out[d].sort(key=lambda b: b[2])
    return out


def _route_bands(route: dict[str, str], bands) -> dict[str, list[tuple[int, int, int, str]]]:
    """{service: [(start_s, end_s, headway_s, band), ...]} for one bus route."""
    out: dict[str, list[tuple[int, int, int, str]]] = {}
    for svc in SERVICES:
        lst = []
        for band, _day, a, b in bands[svc]:
            val = (route.get(f"hw_{band}") or "").strip()
            if val:
                try:
                    h = int(round(float(val) * 60))
                except ValueError:
                    h = 0
                if h <= 0:
                    raise DataError(f"bus_routes.csv, column 'hw_{band}', route {route['route_id']}: "
                                    f"'{val}' is not a positive number of minutes; leave it blank for no service")
                lst.append((a, b, h, band))
        if lst:
            out[svc] = lst
    return out


def _departures(bands: list[tuple[int, int, int, str]]) -> list[tuple[int, str]]:
    """Departure times through consecutive bands: start + k × headway of the band
    the previous departure falls in (no bunching at band edges)."""
    deps: list[tuple[int, str]] = []
    bands = sorted(bands)
    if not bands:
        return deps
    t = bands[0][0]
    end = bands[-1][1]
    while t < end:
        cur = next((b for b in bands if b[0] <= t < b[1]), None)
        if cur is None:
            t = min(b[0] for b in bands if b[0] > t)
            continue
        if cur[2] <= 0:
            raise DataError(f"a headway of {cur[2]} s in band '{cur[3]}' is not positive; headways must be > 0")
        deps.append((t, cur[3]))
        t += cur[2]
    return deps


def _freq_trip_count(bands: list[tuple[int, int, int, str]]) -> int:
    return sum(math.ceil((b - a) / h) for a, b, h, _ in bands)


def _speed_for(assume: dict, kind: str, proj: _Local):
    rings = [float(r) * 1000.0 for r in assume["speed_rings_km"]]
    speeds = [float(v) for v in assume["bus_speed_kmh"][kind]]
    if len(speeds) != len(rings) + 1:
        raise DataError(f"assumptions.yml: bus_speed_kmh.{kind} needs {len(rings) + 1} values "
                        f"(one per ring of speed_rings_km)")

    def seg(sa: _Stop, sb: _Stop, d: float) -> float:
        ax, ay = proj.xy(sa.lat, sa.lon)
        bx, by = proj.xy(sb.lat, sb.lon)
        r = math.hypot((ax + bx) / 2.0, (ay + by) / 2.0)
        i = sum(1 for lim in rings if r >= lim)
        return d / (speeds[i] / 3.6)
    return seg


def _metro_seg(assume: dict):
    dwell = float(assume["metro"]["dwell_s"])
    v = float(assume["metro"]["run_kmh"]) / 3.6

    def seg(sa: _Stop, sb: _Stop, d: float) -> float:
        return dwell + d / v
    return seg


def _bus_route_stops(feed: _Feed, waypoints: list[tuple[float, float, str]], spacing: float,
                     merge_m: float) -> list[str]:
    """Stops on straight segments between waypoints, every ~``spacing`` metres."""
    ids: list[str] = []
    used: set[str] = set()

    def put(lat, lon, label, exact):
        sid = feed.bus_stop(lat, lon, label, exact=exact, merge_m=merge_m, exclude=used)
        if not ids or ids[-1] != sid:
            ids.append(sid)
            used.add(sid)

    lat0, lon0, lab0 = waypoints[0]
    put(lat0, lon0, lab0, True)
    for (la, lo, lab_a), (lb, lob, lab_b) in zip(waypoints, waypoints[1:]):
        ax, ay = feed.proj.xy(la, lo)
        bx, by = feed.proj.xy(lb, lob)
        length = math.hypot(bx - ax, by - ay)
        n = max(1, int(round(length / spacing)))
        for k in range(1, n + 1):
            if k == n:
                put(lb, lob, lab_b, True)
                continue
            f = k / n
            lat, lon = feed.proj.ll(ax + (bx - ax) * f, ay + (by - ay) * f)
            put(lat, lon, lab_a if f < 0.5 else lab_b, False)
    return ids


def _assign_energy(weights: dict[str, int], kinds: dict[str, str], fleet: list[dict[str, str]]
                   ) -> tuple[dict[str, str], dict[str, float], dict[str, float]]:
    """Give each bus route one energy so that the shares of weekday bus trips
    approach the fleet shares. Rural routes prefer non-electric vehicles.

    Returns (energy by route, target shares, achieved shares)."""
    counts: dict[str, int] = {}
    for r in fleet:
        if r["mode"] == "bus":
            counts[r["energy"]] = counts.get(r["energy"], 0) + int(r["vehicles"])
    total_v = sum(counts.values())
    if total_v == 0:
        raise DataError("fleet.csv: no bus vehicles; add rows with mode 'bus'")
    target = {e: counts[e] / total_v for e in sorted(counts)}
    total_w = sum(weights.values())
    want = {e: target[e] * total_w for e in target}
    got = {e: 0.0 for e in target}
    order = sorted(weights, key=lambda r: (0 if kinds[r] == "rural" else 1, -weights[r], r))
    energy: dict[str, str] = {}
    for rid in order:
        allowed = sorted(target)
        if kinds[rid] == "rural":
            non_e = [e for e in allowed if e != "electric"]
            allowed = non_e or allowed
        best = max(allowed, key=lambda e: (want[e] - got[e], e))
        energy[rid] = best
        got[best] += weights[rid]
    achieved = {e: (got[e] / total_w if total_w else 0.0) for e in target}
    return energy, target, achieved


def _urban_class(pop: float, area: float, rule: dict) -> str:
    dens = pop / area if area > 0 else 0.0
    if dens >= float(rule["urban_density_per_km2"]):
        return "urban"
    if dens >= float(rule["large_density_per_km2"]) and pop >= float(rule["large_population"]):
        return "urban"
    return "rural"


def _class_rule_text(rule: dict) -> str:
    return (f"urban if the population density is at least {int(rule['urban_density_per_km2']):,} "
            f"inhabitants/km2 (the Degree of Urbanisation urban-centre density), or at least "
            f"{int(rule['large_density_per_km2']):,} inhabitants/km2 with at least "
            f"{int(rule['large_population']):,} inhabitants (a large district whose average density is "
            f"diluted by unbuilt land); otherwise rural. Areas are geodesic areas of the boundary polygons.")


def _geodesic_area_km2(geom) -> float:
    from pyproj import Geod

    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(area) / 1e6


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 6) for v in obj]
        return [_round_coords(v) for v in obj]
    return obj


def _districts(geojson_path: Path, id_key: str, names: dict[str, tuple[str, str]]) -> list[dict]:
    """Features of the source polygons as dicts with id, name, name_local, geometry (GeoJSON)."""
    with geojson_path.open(encoding="utf-8") as f:
        gj = json.load(f)
    out = []
    for i, ft in enumerate(gj["features"], start=1):
        did = str(ft["properties"][id_key])
        if did not in names:
            raise DataError(f"{where(geojson_path, id_key, i)}: district {did} has no population row; "
                            "add it to the census table")
        name, local = names[did]
        out.append({"district_id": did, "name": name, "name_local": local,
                    "geometry": {"type": ft["geometry"]["type"],
                                 "coordinates": _round_coords(ft["geometry"]["coordinates"])}})
    out.sort(key=lambda d: d["district_id"])
    return out


def _write_boundaries(folder: Path, districts: list[dict], written: list[Path]) -> None:
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature",
                        "properties": {"district_id": d["district_id"], "name": d["name"],
                                       "name_local": d["name_local"]},
                        "geometry": d["geometry"]} for d in districts]}
    write_text(folder / "boundaries.geojson", json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n",
               written)


def _population(folder: Path, districts: list[dict], pops: dict[str, int], rule: dict,
                written: list[Path]) -> list[dict]:
    from shapely.geometry import shape

    rows, out = [], []
    for d in districts:
        area = _geodesic_area_km2(shape(d["geometry"]))
        pop = pops[d["district_id"]]
        cls = _urban_class(pop, area, rule)
        rows.append([d["district_id"], d["name"], pop, f"{area:.1f}", f"{pop / area:.1f}", cls])
        out.append({"district_id": d["district_id"], "name": d["name"], "population": pop, "area_km2": area,
                    "area_class": cls})
    write_text(folder / "population.csv",
               csv_text(["district_id", "name", "population", "area_km2", "density_per_km2", "area_class"], rows),
               written)
    return out


def _gbfs(folder: Path, cfg: dict, *, timezone: str, metro: list[_Stop], districts: list[dict],
          proj: _Local, written: list[Path], name_prefix: str) -> int:
    """Illustrative docked bike-share stations near metro stations in the chosen districts."""
    from shapely.geometry import Point, shape
    from shapely.ops import unary_union
    from shapely.prepared import prep

    chosen = set(str(x) for x in cfg["districts"])
    area = prep(unary_union([shape(d["geometry"]) for d in districts if d["district_id"] in chosen]))
    anchors = [s for s in sorted(metro, key=lambda s: s.stop_id) if area.contains(Point(s.lon, s.lat))]
    if not anchors:
        raise DataError("assumptions.yml: bike_share.districts contain no metro station; list other districts")
    rng = random.Random(int(cfg["seed"]))
    n_target = int(cfg["stations"])
    near_lo, near_hi = (float(v) for v in cfg["near_metro_m"])
    spread = float(cfg["spread_m"])
    min_sep = float(cfg["min_separation_m"])
    cap_lo, cap_hi = (int(v) for v in cfg["capacity"])
    placed: list[tuple[float, float, float, float, _Stop]] = []  # lat, lon, x, y, anchor

    def try_place(anchor: _Stop, r: float, theta: float) -> bool:
        ax, ay = proj.xy(anchor.lat, anchor.lon)
        x, y = ax + r * math.cos(theta), ay + r * math.sin(theta)
        lat, lon = proj.ll(x, y)
        lat, lon = round(lat, 6), round(lon, 6)
        if not area.contains(Point(lon, lat)):
            return False
        if any(math.hypot(px - x, py - y) < min_sep for _, _, px, py, _ in placed):
            return False
        placed.append((lat, lon, x, y, anchor))
        return True

    for a in anchors:
        if len(placed) >= n_target:
            break
        for _ in range(10):
            if try_place(a, rng.uniform(near_lo, near_hi), rng.uniform(0.0, 2.0 * math.pi)):
                break
    attempts = 0
    while len(placed) < n_target and attempts < 200000:
        attempts += 1
        a = anchors[rng.randrange(len(anchors))]
        try_place(a, spread * math.sqrt(rng.random()), rng.uniform(0.0, 2.0 * math.pi))
    stations, status = [], []
    for i, (lat, lon, x, y, _a) in enumerate(placed, start=1):
        near = min(metro, key=lambda s: (math.hypot(proj.xy(s.lat, s.lon)[0] - x,
                                                     proj.xy(s.lat, s.lon)[1] - y), s.stop_id))
        cap = rng.randint(cap_lo, cap_hi)
        sid = f"{cfg['station_id_prefix']}{i:03d}"
        stations.append({"station_id": sid, "name": f"{name_prefix} {i:03d} · {near.name}",
                         "lat": lat, "lon": lon, "capacity": cap})
        bikes = cap // 2
        status.append({"station_id": sid, "num_bikes_available": bikes, "num_docks_available": cap - bikes,
                       "is_installed": True, "is_renting": True, "is_returning": True,
                       "last_reported": GBFS_LAST_UPDATED})
    _gbfs_files(folder, system={"system_id": cfg["system_id"], "language": cfg["language"], "name": cfg["name"],
                                "short_name": "sample", "operator": "citybridge (illustrative sample data)",
                                "timezone": timezone},
                stations=stations, status=status, written=written)
    return len(stations)


def _num(v: str) -> float | int:
    x = float(v)
    return int(x) if x.is_integer() and "." not in v else x


def _profile(src: Path, *, rule: dict, extra_note: str) -> dict:
    prof = read_yaml(src / "profile.yml")
    prof["population"]["class_rule"] = _class_rule_text(rule)
    prof["fleet"] = [{"mode": r["mode"], "energy": r["energy"], "vehicles": int(r["vehicles"]), "year": r["year"],
                      "source": r["source"], "note": r["note"]}
                     for r in read_csv(src / "fleet.csv", ("mode", "energy", "vehicles", "year", "source"))]
    params = {}
    for r in read_csv(src / "parameters.csv", ("parameter", "value", "unit", "year", "source", "solid", "note")):
        params[r["parameter"]] = {"value": float(r["value"]), "unit": r["unit"], "year": r["year"],
                                  "source": r["source"], "solid": r["solid"].strip().lower() == "true",
                                  "note": r["note"]}
    prof["parameters"] = params
    prof["facts"] = [{"metric": r["metric"], "value": _num(r["value"]), "unit": r["unit"], "year": r["year"],
                      "source": r["source"]}
                     for r in read_csv(src / "facts.csv", ("metric", "value", "unit", "year", "source"))]
    prof["notes"] = (prof.get("notes", "").strip() + " " + extra_note).strip()
    return prof


def _write_profile(folder: Path, slug: str, prof: dict, written: list[Path]) -> None:
    try:
        CityProfile.model_validate(prof)
    except Exception as exc:  # pydantic.ValidationError
        raise DataError(f"data/samples/{slug}: the generated city.yml is not valid: {exc}") from None
    head = (f"# Generated by citybridge.samples from data/samples/{slug}/ -- edit those files and run\n"
            f"# 'citybridge samples'; do not edit this file by hand.\n")
    body = yaml.safe_dump(prof, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    write_text(folder / "city.yml", head + body, written)


def _bus_network(feed: _Feed, routes: list[dict[str, str]], points: dict[str, tuple[float, float, str]],
                 assume: dict, src: Path) -> dict[str, tuple[dict, _Pattern, _Pattern]]:
    """Patterns (both directions) of every bus route, keyed by route_id."""
    spacing = assume["stop_spacing_m"]
    merge_m = float(assume["stop_merge_m"])
    out = {}
    for i, r in enumerate(sorted(routes, key=lambda r: r["route_id"]), start=1):
        wps = []
        for tok in r["waypoints"].split("|"):
            tok = tok.strip()
            if tok.startswith("P:"):
                lat, lon, label = tok[2:].split("/", 2)
                wps.append((float(lat), float(lon), label))
            elif tok in points:
                wps.append(points[tok])
            else:
                raise DataError(f"{where(src / 'bus_routes.csv', 'waypoints', i)}: waypoint '{tok}' is unknown; "
                                "use M:<metro station>, S:/D:<district code> or P:<lat>/<lon>/<label>")
        kind = r["kind"]
        ids = _bus_route_stops(feed, wps, float(spacing[kind]), merge_m)
        seg = _speed_for(assume, kind, feed.proj)
        out[r["route_id"]] = (r, feed.pattern(ids, seg), feed.pattern(ids[::-1], seg))
    return out


_KIND_DESC = {
    "trunk": ("Urban trunk corridor (illustrative sample, not an operator's route)", "C62828"),
    "feeder": ("Feeder (illustrative sample, not an operator's route)", "2E7D32"),
    "night": ("Night service (illustrative sample, not an operator's route)", "37474F"),
    "rural": ("Rural / peri-urban service (illustrative sample, not an operator's route)", "8D6E63"),
}


# --------------------------------------------------------------------------- Santiago


def _gbfs_files(folder: Path, *, system: dict, stations: list[dict], status: list[dict] | None,
                written: list[Path]) -> None:
    """GBFS v2.3 files: gbfs.json, system_information, station_information (and status if given)."""
    gb = folder / "gbfs"
    lang = system["language"]
    feeds = ["system_information", "station_information"] + (["station_status"] if status is not None else [])
    head = {"last_updated": GBFS_LAST_UPDATED, "ttl": 86400, "version": "2.3"}
    write_text(gb / "gbfs.json", json_text({
        **head, "data": {lang: {"feeds": [{"name": n, "url": f"{n}.json"} for n in feeds]}}}), written)
    write_text(gb / "system_information.json", json_text({**head, "data": system}), written)
    write_text(gb / "station_information.json", json_text({**head, "data": {"stations": stations}}), written)
    if status is not None:
        write_text(gb / "station_status.json", json_text({**head, "data": {"stations": status}}), written)


def _build_santiago(src: Path, out: Path, written: list[Path]) -> dict:
    from . import santiago as scl

    assume = read_yaml(src / "assumptions.yml")
    # Everything is computed before anything is written, so a defect in a
    # source table leaves data/cities/santiago untouched.
    tables, stats = scl.build_feed(src, assume)
    census = read_csv(src / "censo2024_comunal.csv", ("codigo_comuna", "nombre_comuna", "poblacion_censada"))
    names = {r["codigo_comuna"]: (r["nombre_comuna"], r["nombre_comuna"]) for r in census}
    pops = {r["codigo_comuna"]: int(r["poblacion_censada"]) for r in census}
    districts = _districts(src / "comunas_dpa2023_simplified.geojson", "CUT_COM", names)
    layer = scl.population_layer(src, districts, pops)
    bikes = scl.bike_stations(src)
    prof = _profile(src, rule=assume["urban_rule"], extra_note="")

    write_zip(out / "gtfs.zip", tables, written)
    _write_boundaries(out, districts, written)
    pop_rows = _population(out, districts, pops, assume["urban_rule"], written)
    write_text(out / "population_zones.geojson",
               json.dumps(layer, ensure_ascii=False, separators=(",", ":")) + "\n", written)
    bs = assume["bike_share"]
    _gbfs_files(out, system={"system_id": bs["system_id"], "language": "es", "name": bs["name"],
                             "operator": bs["operator"], "timezone": "America/Santiago"},
                stations=bikes, status=None, written=written)
    _write_profile(out, "santiago", prof, written)
    from citybridge.avl import convert_avl_file

    written.extend(convert_avl_file(src / "avl_2026" / "avl.yml", out / "realtime"))
    stats.update(bike_stations=len(bikes), layer_features=len(layer["features"]),
                 rural_districts=sorted(p["name"] for p in pop_rows if p["area_class"] == "rural"))
    return stats


def _energy_note(target: dict[str, float], achieved: dict[str, float]) -> str:
    parts = ", ".join(f"{e} {achieved[e] * 100:.1f} % (fleet {target[e] * 100:.1f} %)" for e in sorted(target))
    return f"Weekday bus trips by vehicle_energy: {parts}."


# --------------------------------------------------------------------------- Hangzhou

def _build_hangzhou(src: Path, out: Path, written: list[Path]) -> dict:
    assume = read_yaml(src / "assumptions.yml")
    c = assume["centre"]
    proj = _Local(float(c["lat"]), float(c["lon"]))
    feed = _Feed(proj)

    stations = read_csv(src / "metro_stations.csv", ("line", "path", "seq", "name_zh", "name_en", "lat", "lon"))
    lines = read_csv(src / "metro_lines.csv", ("line", "short_name", "color", "text_color", "service_class"))
    stations.sort(key=lambda r: (int(r["line"]), r["path"].endswith("branch"), int(r["seq"])))
    stop_of: dict[str, str] = {}
    points: dict[str, tuple[float, float, str]] = {}
    for r in stations:
        if r["name_zh"] not in stop_of:
            sid = f"M{len(stop_of) + 1:03d}"
            stop_of[r["name_zh"]] = sid
            label = f"{r['name_zh']} {r['name_en']}"
            feed.add_stop(_Stop(sid, label, float(r["lat"]), float(r["lon"]),
                                desc="Metro station (Amap coordinates converted from GCJ-02 to WGS-84)"))
            points[f"M:{r['name_zh']}"] = (float(r["lat"]), float(r["lon"]), label)
    heads = read_csv(src / "metro_headways_assumed.csv",
                     ("service_class", "day_type", "start_time", "end_time", "headway_s"))
    metro_seg = _metro_seg(assume)

    def metro_bands(cls: str, svc: str) -> list[tuple[int, int, int, str]]:
        return sorted((seconds_of(h["start_time"]), seconds_of(h["end_time"]), int(h["headway_s"]), "metro")
                      for h in heads if h["service_class"] == cls and h["day_type"] == svc)

    for ln in lines:
        line = ln["line"]
        rows = [r for r in stations if r["line"] == line]
        paths = sorted({r["path"] for r in rows}, key=lambda p: (p.endswith("branch"), p))
        main_path = paths[0]
        main = sorted((r for r in rows if r["path"] == main_path), key=lambda r: int(r["seq"]))
        pats = [(f"M{line}", [r["name_zh"] for r in main], ln["service_class"])]
        for p in paths[1:]:
            br = sorted((r for r in rows if r["path"] == p), key=lambda r: int(r["seq"]))
            names = [r["name_zh"] for r in br]
            main_names = [r["name_zh"] for r in main]
            if names[-1] not in main_names:
                raise DataError(f"{src / 'metro_stations.csv'}: branch path {p} does not end at a station of "
                                f"{main_path}; its last row must be the junction")
            j = main_names.index(names[-1])
            # Through-running from the junction along the longer side of the main
            # path (towards the city: 星桥 on line 3, 枸桔弄 on line 6).
            after, before = main_names[j + 1:], main_names[:j][::-1]
            tail = after if len(after) >= len(before) else before
            pats.append((f"M{line}B", names + tail, ln.get("branch_service_class") or ln["service_class"]))
        first, last = pats[0][1][0], pats[0][1][-1]
        long_name = f"地铁{line}号线 Line {line}: {feed.stops[stop_of[first]].name} – {feed.stops[stop_of[last]].name}"
        feed.routes.append([f"M{line}", "HZMETRO", ln["short_name"], long_name,
                            "Metro line (Amap stations; headways and running times assumed)", 1, ln["color"],
                            ln["text_color"], "metro"])
        for code, names, cls in pats:
            ids = [stop_of[n] for n in names]
            for direction, pid in ((0, ids), (1, ids[::-1])):
                pat = feed.pattern(pid, metro_seg)
                headsign = feed.stops[pid[-1]].name
                for svc in SERVICES:
                    for t, _b in _departures(metro_bands(cls, svc)):
                        feed.add_trip(f"M{line}", svc, f"{code}_{svc}_{direction}_{hhmmss(t).replace(':', '')}",
                                      headsign, direction, "electric", pat, t)

    # Buses.
    census = read_csv(src / "census2020_districts.csv", ("name_zh", "name_en", "adcode", "population",
                                                          "fold_into_adcode"))
    districts_src = src / "districts_fastgeocn_cgcs2000.geojson"
    names = {r["adcode"]: (r["name_en"], r["name_zh"]) for r in census if r["adcode"]}
    districts = _districts(districts_src, "adcode", names)
    from shapely.geometry import shape
    for d in districts:
        p = shape(d["geometry"]).representative_point()
        points[f"D:{d['district_id']}"] = (round(p.y, 6), round(p.x, 6),
                                           f"{d['name_local']} {d['name']} (representative point)")
    routes = read_csv(src / "bus_routes.csv", ("route_id", "short_name", "long_name", "kind", "waypoints"))
    bands = _bands(read_csv(src / "service_bands.csv", ("day_type", "band", "start", "end")))
    net = _bus_network(feed, routes, points, assume, src)
    plans = {rid: _route_bands(r, bands) for rid, (r, _p0, _p1) in net.items()}
    deps = {rid: {svc: _departures(lst) for svc, lst in plans[rid].items()} for rid in net}
    weights = {rid: 2 * len(deps[rid].get("weekday", [])) for rid in net}
    kinds = {rid: net[rid][0]["kind"] for rid in net}
    energy, target, achieved = _assign_energy(weights, kinds, read_csv(src / "fleet.csv"))
    factor = float(assume.get("peak_time_factor", 1.0))
    for rid, (r, p0, p1) in net.items():
        desc, color = _KIND_DESC[r["kind"]]
        feed.routes.append([rid, "HZBUS", r["short_name"], r["long_name"], desc, 3, color, "FFFFFF", r["kind"]])
        for direction, pat in ((0, p0), (1, p1)):
            headsign = feed.stops[pat.stops[-1]].name
            for svc, lst in deps[rid].items():
                for t, band in lst:
                    f = factor if (svc == "weekday" and band in _PEAK_BANDS) else 1.0
                    feed.add_trip(rid, svc, f"{rid}_{svc}_{direction}_{hhmmss(t).replace(':', '')}", headsign,
                                  direction, energy[rid], pat, t, f)

    # Water buses.
    wlines = read_csv(src / "water_bus_lines.csv", ("line", "short_name", "long_name", "color", "text_color",
                                                     "speed_kmh", "end_to_end_min"))
    piers = read_csv(src / "water_bus_piers.csv", ("line", "seq", "kind", "name_zh", "name_en", "lat", "lon"))
    service = read_csv(src / "water_bus_service.csv", ("line", "day_types", "direction_id", "from_seq", "to_seq",
                                                         "first", "last", "headway_min"))
    pier_id: dict[str, str] = {}
    dwell = float(assume["water"]["dwell_s"])
    for wl in wlines:
        line = wl["line"]
        rows = sorted((p for p in piers if p["line"] == line), key=lambda p: int(p["seq"]))
        for p in rows:
            if p["kind"] == "pier" and p["name_zh"] not in pier_id:
                sid = f"W{len(pier_id) + 1:02d}"
                pier_id[p["name_zh"]] = sid
                feed.add_stop(_Stop(sid, f"{p['name_zh']} {p['name_en']}", float(p["lat"]), float(p["lon"]),
                                    desc="Water-bus pier: APPROXIMATE position (no published coordinates)",
                                    approximate=1))
        rid = f"W{line}"
        feed.routes.append([rid, "HZWATER", wl["short_name"], wl["long_name"],
                            f"Water bus on the {wl['waterway']} (pier positions approximate)", 4, wl["color"],
                            wl["text_color"], "water"])
        # Cumulative path distance at each pier (via points count for distance only).
        cum, d_at, prev = 0.0, {}, None
        for p in rows:
            pt = (float(p["lat"]), float(p["lon"]))
            if prev is not None:
                cum += proj.dist(prev, pt)
            prev = pt
            if p["kind"] == "pier":
                d_at[int(p["seq"])] = cum
        seqs = sorted(d_at)
        e2e = wl["end_to_end_min"].strip()
        speed = float(wl["speed_kmh"]) / 3.6 if wl["speed_kmh"].strip() else None
        for s in service:
            if s["line"] != line:
                continue
            a, b = int(s["from_seq"]), int(s["to_seq"])
            chosen = [q for q in seqs if min(a, b) <= q <= max(a, b)]
            if a > b:
                chosen = chosen[::-1]
            ids = [pier_id[next(p["name_zh"] for p in rows if int(p["seq"]) == q)] for q in chosen]
            dists = [abs(d_at[q] - d_at[chosen[0]]) for q in chosen]
            if e2e:
                full = d_at[seqs[-1]] - d_at[seqs[0]]
                times = [float(e2e) * 60.0 * d / full for d in dists]
            else:
                times = [d / speed + dwell * i for i, d in enumerate(dists)]
            pat = _Pattern(ids, dists, times)
            direction = int(s["direction_id"])
            headsign = feed.stops[ids[-1]].name
            t, last, h = seconds_of(s["first"]), seconds_of(s["last"]), int(s["headway_min"]) * 60
            for svc in s["day_types"].split(";"):
                tt = t
                while tt <= last:
                    feed.add_trip(rid, svc, f"{rid}_{svc}_{direction}_{hhmmss(tt).replace(':', '')}", headsign,
                                  direction, "other", pat, tt)
                    tt += h

    agencies = [["HZMETRO", "杭州地铁 Hangzhou Metro (illustrative sample)", "https://www.mtrhz.com.cn",
                 "Asia/Shanghai", "zh"],
                ["HZBUS", "杭州公交 Hangzhou buses (illustrative sample)", "https://www.hangzhou.gov.cn",
                 "Asia/Shanghai", "zh"],
                ["HZWATER", "杭州水上巴士 Hangzhou water bus (illustrative sample)", "http://en.grandcanal.com.cn",
                 "Asia/Shanghai", "zh"]]
    holidays = read_csv(src / "holidays.csv", ("date", "remove_service", "add_service"))
    stats = feed.write_zip(out / "gtfs.zip", agencies=agencies, holidays=holidays, written=written,
                           feed_info=["citybridge illustrative sample (built from public facts; not the operators' "
                                      "timetables)", "https://example.org/citybridge/samples", "zh",
                                      CALENDAR_START, CALENDAR_END, "sample-2026.1"])
    stats["weekday_bus_trips"] = sum(weights.values())

    pops: dict[str, int] = {}
    for r in census:
        key = r["adcode"] or r["fold_into_adcode"]
        if not key:
            raise DataError(f"{src / 'census2020_districts.csv'}: row '{r['name_zh']}' has neither adcode nor "
                            "fold_into_adcode; say which district it belongs to")
        pops[key] = pops.get(key, 0) + int(r["population"])
    _write_boundaries(out, districts, written)
    pop_rows = _population(out, districts, pops, assume["urban_rule"], written)
    metro_stops = [s for s in feed.stops.values() if s.stop_id.startswith("M")]
    n_bikes = _gbfs(out, assume["bike_share"], timezone="Asia/Shanghai", metro=metro_stops, districts=districts,
                    proj=proj, written=written, name_prefix="公共自行车 Bike")
    note = _energy_note(target, achieved)
    prof = _profile(src, rule=assume["urban_rule"], extra_note=note)
    _write_profile(out, "hangzhou", prof, written)
    stats.update(bike_stations=n_bikes, energy_target=target, energy_achieved=achieved,
                 rural_districts=sorted(p["name"] for p in pop_rows if p["area_class"] == "rural"))
    return stats


_BUILDERS = {"santiago": _build_santiago, "hangzhou": _build_hangzhou}


def build_city(slug: str, root: Path | None = None) -> tuple[list[Path], dict]:
    """Build one sample city; returns (files written, summary figures)."""
    if slug not in _BUILDERS:
        raise DataError(f"'{slug}' is not a sample city (known: {', '.join(SAMPLE_SLUGS)})")
    root = Path(root) if root is not None else project_root()
    src = root / "data" / "samples" / slug
    if not src.is_dir():
        raise DataError(f"{src}: sample tables not found; run from the project folder or restore data/samples")
    out = root / "data" / "cities" / slug
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    stats = _BUILDERS[slug](src, out, written)
    return sorted(written), stats


def build_samples(root: Path | None = None) -> list[Path]:
    """Rebuild the sample cities under ``root/data/cities`` from ``root/data/samples``.

    Parameters
    ----------
    root
        The project folder; default :func:`citybridge.city.project_root`.

    Returns
    -------
    list of Path
        Every file written, sorted.

    Raises
    ------
    DataError
        A sample table is missing or malformed (the message names the file,
        column and row).
    """
    written: list[Path] = []
    for slug in SAMPLE_SLUGS:
        files, _stats = build_city(slug, root)
        written.extend(files)
    return sorted(written)
