"""The sample feeds' model: stops, stop patterns and trips written as GTFS, and the shared network pieces.

A :class:`SampleFeed` collects stops, routes, trips, stop times and
frequencies in a :class:`LocalProjection` around the city's centre and
writes them as a deterministic ``gtfs.zip``; the functions below turn the
source tables (service bands, headways, bus routes, fleet) into its trips.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from citybridge.errors import DataError, where

from .files import csv_text, f6, hhmmss, seconds_of, write_zip

#: Calendar of the sample feeds.
CALENDAR_START, CALENDAR_END = "20260101", "20261231"
#: Service ids of the sample feeds (one per day type).
SERVICES = ("weekday", "saturday", "sunday")
#: Mean Earth radius (m), for the local projection.
EARTH_RADIUS_M = 6371008.8
#: Service bands that count as peaks (the weekday peak factor applies to them).
PEAK_BANDS = ("am_peak", "pm_peak")


class LocalProjection:
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


@dataclass
class SampleStop:
    """A stop of a sample feed (``approximate`` = 1 where its position is assumed)."""

    stop_id: str
    name: str
    lat: float
    lon: float
    code: str = ""
    desc: str = ""
    approximate: int = 0


@dataclass
class StopPattern:
    """An ordered stop list with cumulative distance (m) and time (s)."""

    stops: list[str]
    dist_m: list[float]
    time_s: list[float]

    @property
    def duration(self) -> float:
        return self.time_s[-1]


@dataclass
class SampleFeed:
    """The tables of a sample GTFS feed, built trip by trip and written by :meth:`write`."""

    proj: LocalProjection
    stops: dict[str, SampleStop] = field(default_factory=dict)
    routes: list[list] = field(default_factory=list)
    trips: list[list] = field(default_factory=list)
    stop_times: list[list] = field(default_factory=list)
    frequencies: list[list] = field(default_factory=list)
    _bus_grid: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    _bus_count: int = 0
    _label_count: dict[str, int] = field(default_factory=dict)

    def add_stop(self, stop: SampleStop) -> str:
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
        self.stops[sid] = SampleStop(sid, name, round(lat, 6), round(lon, 6),
                                     desc="illustrative bus stop (sample network)")
        self._bus_grid.setdefault(cell, []).append(sid)
        return sid

    def pattern(self, stop_ids: list[str], seg_time) -> StopPattern:
        """Cumulative distances and times; ``seg_time(a, b, d_m)`` gives seconds."""
        dist, times = [0.0], [0.0]
        for a, b in zip(stop_ids, stop_ids[1:]):
            sa, sb = self.stops[a], self.stops[b]
            d = self.proj.dist((sa.lat, sa.lon), (sb.lat, sb.lon))
            dist.append(dist[-1] + d)
            times.append(times[-1] + seg_time(sa, sb, d))
        return StopPattern(list(stop_ids), dist, times)

    def add_trip(self, route_id: str, service: str, trip_id: str, headsign: str, direction: int,
                 energy: str, pattern: StopPattern, start_s: int, factor: float = 1.0) -> None:
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


def read_bands(rows: list[dict[str, str]]) -> dict[str, list[tuple[str, str, int, int]]]:
    """service_bands.csv as {day_type: [(band, day_type, start_s, end_s), ...]}."""
    out: dict[str, list[tuple[str, str, int, int]]] = {d: [] for d in SERVICES}
    for r in rows:
        out[r["day_type"]].append((r["band"], r["day_type"], seconds_of(r["start"]), seconds_of(r["end"])))
    for d in out:
        out[d].sort(key=lambda b: b[2])
    return out


def route_bands(route: dict[str, str], bands) -> dict[str, list[tuple[int, int, int, str]]]:
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


def band_departures(bands: list[tuple[int, int, int, str]]) -> list[tuple[int, str]]:
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


def frequency_trip_count(bands: list[tuple[int, int, int, str]]) -> int:
    """Trips that ``frequencies.txt`` bands ``(start_s, end_s, headway_s, _)`` expand to."""
    return sum(math.ceil((b - a) / h) for a, b, h, _ in bands)


def speed_for(assume: dict, kind: str, proj: LocalProjection):
    """A segment-time function (s) for a bus of ``kind``: speed by ring around the centre, from assumptions.yml."""
    rings = [float(r) * 1000.0 for r in assume["speed_rings_km"]]
    speeds = [float(v) for v in assume["bus_speed_kmh"][kind]]
    if len(speeds) != len(rings) + 1:
        raise DataError(f"assumptions.yml: bus_speed_kmh.{kind} needs {len(rings) + 1} values "
                        f"(one per ring of speed_rings_km)")

    def seg(sa: SampleStop, sb: SampleStop, d: float) -> float:
        ax, ay = proj.xy(sa.lat, sa.lon)
        bx, by = proj.xy(sb.lat, sb.lon)
        r = math.hypot((ax + bx) / 2.0, (ay + by) / 2.0)
        i = sum(1 for lim in rings if r >= lim)
        return d / (speeds[i] / 3.6)
    return seg


def metro_segment(assume: dict):
    """A segment-time function (s) for the metro: dwell plus distance at the assumed running speed."""
    dwell = float(assume["metro"]["dwell_s"])
    v = float(assume["metro"]["run_kmh"]) / 3.6

    def seg(sa: SampleStop, sb: SampleStop, d: float) -> float:
        return dwell + d / v
    return seg


def bus_route_stops(feed: SampleFeed, waypoints: list[tuple[float, float, str]], spacing: float,
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


def assign_energy(weights: dict[str, int], kinds: dict[str, str], fleet: list[dict[str, str]]
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


def bus_network(feed: SampleFeed, routes: list[dict[str, str]], points: dict[str, tuple[float, float, str]],
                assume: dict, src: Path) -> dict[str, tuple[dict, StopPattern, StopPattern]]:
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
        ids = bus_route_stops(feed, wps, float(spacing[kind]), merge_m)
        seg = speed_for(assume, kind, feed.proj)
        out[r["route_id"]] = (r, feed.pattern(ids, seg), feed.pattern(ids[::-1], seg))
    return out


KIND_DESC = {
    "trunk": ("Urban trunk corridor (illustrative sample, not an operator's route)", "C62828"),
    "feeder": ("Feeder (illustrative sample, not an operator's route)", "2E7D32"),
    "night": ("Night service (illustrative sample, not an operator's route)", "37474F"),
    "rural": ("Rural / peri-urban service (illustrative sample, not an operator's route)", "8D6E63"),
}
