"""Santiago de Chile, reconstructed from DTPM's official GTFS (V166, valid 2026-07-04 … 2026-12-31).

The tables under ``data/samples/santiago/dtpm_2026/`` are DTPM's feed re-keyed as
tidy tables (see ``data/README.md`` for the origin and licence). This module
writes them back as a GTFS feed, deterministically:

- every bus route and route-direction ("pattern") with its stops in order and
  its shape (decoded from the encoded polylines with the ``polyline`` package);
- one template trip per route-direction and day type (``wd``, ``sa``, ``su``)
  whose stop times follow the published running times, and ``frequencies.txt``
  from the published bands (``exact_times=0``, like the official feed);
- ``calendar.txt`` for the validity period and ``calendar_dates.txt`` for the
  2026 holidays (they run the Sunday plan);
- the 7 Metro lines from the station order and planned headways; Metro running
  times are **not** in the source: they follow the stated assumption in
  ``assumptions.yml`` (a dwell per station plus a running speed);
- the comunas with the 2024 census, the 1,865 urban census zones of 2017 as a
  finer population layer scaled to the 2024 comuna totals, and the 238 Bike
  Itaú stations (2022 list) as GBFS ``station_information.json``.

Any defect in a source table (a stop code that does not exist, a route without
frequencies, a broken polyline) stops the build with a message naming the
table, column and row, before anything in ``data/cities/`` is written.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path

from citybridge.errors import DataError, where

from .files import read_csv

#: Validity of DTPM GTFS V166.
FEED_START, FEED_END = "20260704", "20261231"
FEED_VERSION = "V166.20260704"
DAY_TYPES = {"wd": (1, 1, 1, 1, 1, 0, 0), "sa": (0, 0, 0, 0, 0, 1, 0), "su": (0, 0, 0, 0, 0, 0, 1)}
DIRECTION_ID = {"I": 0, "R": 1}
ATTRIBUTION = ("DTPM (Directorio de Transporte Público Metropolitano), GTFS V166.20260704, "
               "https://www.dtpm.cl/descargas/gtfs/GTFS_20260704.zip; transformed by citybridge "
               "(re-keyed tables rebuilt as a feed; Metro running times assumed)")


def _read(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """The table's rows (:func:`citybridge_samples.files.read_csv`), refusing empty required values."""
    rows = read_csv(path, required)
    for i, r in enumerate(rows, start=1):
        for c in required:
            if (r.get(c) or "").strip() == "":
                raise DataError(f"{where(path, c, i)}: empty value; fill it in or drop the row")
    return rows


def _int(path: Path, col: str, row: int, value: str, *, minimum: int | None = None) -> int:
    try:
        v = int(float(value))
    except ValueError:
        raise DataError(f"{where(path, col, row)}: '{value}' is not a whole number") from None
    if minimum is not None and v < minimum:
        raise DataError(f"{where(path, col, row)}: {v} is below {minimum}; correct the value")
    return v


def _float(path: Path, col: str, row: int, value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise DataError(f"{where(path, col, row)}: '{value}' is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{where(path, col, row)}: '{value}' is not a finite number")
    return v


def _hms(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _secs(hhmm: str) -> int:
    parts = [int(p) for p in hhmm.strip().split(":")]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _csv(header: list[str], rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(a))


def _decode(path: Path, row: int, text: str) -> list[tuple[float, float]]:
    import polyline

    try:
        pts = polyline.decode(text, 5)
    except Exception:  # the package raises several types on garbage
        raise DataError(f"{where(path, 'encoded_polyline', row)}: not a valid encoded polyline "
                        "(precision 5); restore the row from the source") from None
    if len(pts) < 2 or not all(-90 <= la <= 90 and -180 <= lo <= 180 for la, lo in pts):
        raise DataError(f"{where(path, 'encoded_polyline', row)}: the polyline decodes to fewer than two "
                        "valid points; restore the row from the source")
    return pts


def build_feed(src: Path, assume: dict) -> tuple[dict[str, str], dict]:
    """The GTFS tables (file name → CSV text) and summary figures.

    Parameters
    ----------
    src
        ``data/samples/santiago`` (holding ``dtpm_2026/``).
    assume
        The parsed ``assumptions.yml`` (``metro.dwell_s``, ``metro.run_kmh``).
    """
    d = src / "dtpm_2026"
    p_stops = d / "bus_stops.csv"
    stops = _read(p_stops, ("stop_code", "stop_name", "lat", "lon"))
    stop_rows = {}
    for i, r in enumerate(stops, start=1):
        code = r["stop_code"].strip()
        if code in stop_rows:
            raise DataError(f"{where(p_stops, 'stop_code', i)}: stop code '{code}' appears twice; keep one row")
        stop_rows[code] = [code, code, r["stop_name"], f"{_float(p_stops, 'lat', i, r['lat']):.5f}",
                           f"{_float(p_stops, 'lon', i, r['lon']):.5f}", 0, ""]

    p_routes = d / "bus_routes.csv"
    routes = _read(p_routes, ("route_id", "route_long_name"))
    route_ids = {r["route_id"] for r in routes}
    p_pat = d / "bus_patterns.csv"
    patterns = _read(p_pat, ("route_id", "direction", "shape_id", "length_m", "circular"))
    pat_keys = {}
    for i, r in enumerate(patterns, start=1):
        if r["route_id"] not in route_ids:
            raise DataError(f"{where(p_pat, 'route_id', i)}: route '{r['route_id']}' is not in bus_routes.csv")
        if r["direction"] not in DIRECTION_ID:
            raise DataError(f"{where(p_pat, 'direction', i)}: '{r['direction']}' is not I or R")
        pat_keys[(r["route_id"], r["direction"])] = r

    p_ps = d / "bus_pattern_stops.csv"
    seqs: dict[tuple[str, str], list[tuple[int, str, float, int]]] = defaultdict(list)
    for i, r in enumerate(_read(p_ps, ("route_id", "direction", "stop_sequence", "stop_code",
                                       "dist_from_prev_m", "secs_from_prev")), start=1):
        key = (r["route_id"], r["direction"])
        if key not in pat_keys:
            raise DataError(f"{where(p_ps, 'route_id', i)}: route-direction {key[0]} {key[1]} is not in "
                            "bus_patterns.csv")
        if r["stop_code"] not in stop_rows:
            raise DataError(f"{where(p_ps, 'stop_code', i)}: stop code '{r['stop_code']}' is not in "
                            "bus_stops.csv; add the stop or correct the code")
        seqs[key].append((_int(p_ps, "stop_sequence", i, r["stop_sequence"], minimum=1), r["stop_code"],
                          _float(p_ps, "dist_from_prev_m", i, r["dist_from_prev_m"]),
                          _int(p_ps, "secs_from_prev", i, r["secs_from_prev"], minimum=0)))

    p_fr = d / "bus_frequencies.csv"
    bands: dict[tuple[str, str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for i, r in enumerate(_read(p_fr, ("route_id", "direction", "day_type", "start_secs", "end_secs",
                                       "headway_secs")), start=1):
        key = (r["route_id"], r["direction"])
        if key not in pat_keys:
            raise DataError(f"{where(p_fr, 'route_id', i)}: route-direction {key[0]} {key[1]} is not in "
                            "bus_patterns.csv")
        if r["day_type"] not in DAY_TYPES:
            raise DataError(f"{where(p_fr, 'day_type', i)}: '{r['day_type']}' is not wd, sa or su")
        a = _int(p_fr, "start_secs", i, r["start_secs"], minimum=0)
        b = _int(p_fr, "end_secs", i, r["end_secs"], minimum=0)
        h = _int(p_fr, "headway_secs", i, r["headway_secs"], minimum=1)
        if b <= a:
            raise DataError(f"{where(p_fr, 'end_secs', i)}: the band ends ({b}) before it starts ({a})")
        bands[(*key, r["day_type"])].append((a, b, h))

    p_sh = d / "bus_shapes_polyline5.csv"
    shape_pts = {}
    for i, r in enumerate(_read(p_sh, ("shape_id", "encoded_polyline")), start=1):
        shape_pts[r["shape_id"]] = _decode(p_sh, i, r["encoded_polyline"])

    out_routes, out_trips, out_st, out_fr, out_shapes = [], [], [], [], []
    for r in sorted(routes, key=lambda r: r["route_id"]):
        out_routes.append([r["route_id"], "RED", r["route_id"], r["route_long_name"], 3, "", ""])
    n_bus_templates = 0
    for i, (key, pat) in enumerate(sorted(pat_keys.items()), start=1):
        rid, dirn = key
        seq = sorted(seqs.get(key, []))
        if len(seq) < 2:
            raise DataError(f"{where(p_ps, 'route_id')}: route-direction {rid} {dirn} has fewer than two "
                            "stops; add its stop sequence")
        if [s[0] for s in seq] != list(range(1, len(seq) + 1)):
            raise DataError(f"{where(p_ps, 'stop_sequence')}: route-direction {rid} {dirn} has gaps or "
                            "repeats in stop_sequence; number its stops 1, 2, 3, …")
        day_bands = {dt: sorted(bands[(rid, dirn, dt)]) for dt in DAY_TYPES if bands.get((rid, dirn, dt))}
        if not day_bands:
            raise DataError(f"{where(p_fr, 'route_id')}: route-direction {rid} {dirn} (bus_patterns.csv row "
                            f"{list(pat_keys).index(key) + 1}) has no frequency band; add its bands")
        shape_id = pat["shape_id"]
        if shape_id not in shape_pts:
            raise DataError(f"{where(p_pat, 'shape_id', list(pat_keys).index(key) + 1)}: shape '{shape_id}' "
                            "is not in bus_shapes_polyline5.csv")
        for dt, lst in day_bands.items():
            tid = f"{rid}-{dirn}-{dt}"
            first = lst[0][0]
            out_trips.append([rid, dt, tid, pat.get("headsign", ""), DIRECTION_ID[dirn], shape_id])
            t, dist = first, 0.0
            for n, (sq, code, dm, sp) in enumerate(seq):
                if n:
                    t += sp
                    dist += dm
                out_st.append([tid, _hms(t), _hms(t), code, sq, f"{dist:.0f}"])
            for a, b, h in lst:
                out_fr.append([tid, _hms(a), _hms(b), h, 0])
            n_bus_templates += 1

    used_shapes = sorted({p["shape_id"] for p in pat_keys.values()})
    for sid in used_shapes:
        pts, dist = shape_pts[sid], 0.0
        for n, (la, lo) in enumerate(pts, start=1):
            if n > 1:
                dist += _haversine(pts[n - 2][0], pts[n - 2][1], la, lo)
            out_shapes.append([sid, f"{la:.5f}", f"{lo:.5f}", n, f"{dist:.0f}"])

    # ------------------------------------------------------------------ Metro
    m = assume["metro"]
    dwell, run_ms = float(m["dwell_s"]), float(m["run_kmh"]) / 3.6
    p_ms = d / "metro_stations.csv"
    stations = {}
    for i, r in enumerate(_read(p_ms, ("station_id", "station_name", "lat", "lon", "lines")), start=1):
        stations[r["station_id"]] = r
        stop_rows[f"M-{r['station_id']}"] = [f"M-{r['station_id']}", "", r["station_name"],
                                             f"{_float(p_ms, 'lat', i, r['lat']):.6f}",
                                             f"{_float(p_ms, 'lon', i, r['lon']):.6f}", 0, ""]
    p_ls = d / "metro_line_stations.csv"
    lines: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
    line_meta = {}
    for i, r in enumerate(_read(p_ls, ("line_id", "line_name", "color", "seq", "station_id",
                                       "dist_along_line_m")), start=1):
        if r["station_id"] not in stations:
            raise DataError(f"{where(p_ls, 'station_id', i)}: station '{r['station_id']}' is not in "
                            "metro_stations.csv")
        lines[r["line_id"]].append((_int(p_ls, "seq", i, r["seq"], minimum=1), r["station_id"],
                                    _float(p_ls, "dist_along_line_m", i, r["dist_along_line_m"])))
        line_meta[r["line_id"]] = (r["line_name"], r["color"].lstrip("#"))
    p_mf = d / "metro_frequencies.csv"
    mbands: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for i, r in enumerate(_read(p_mf, ("line_id", "day_type", "start", "end", "headway_secs")), start=1):
        if r["line_id"] not in lines:
            raise DataError(f"{where(p_mf, 'line_id', i)}: line '{r['line_id']}' has no stations in "
                            "metro_line_stations.csv")
        a, b = _secs(r["start"]), _secs(r["end"])
        if b <= a:
            raise DataError(f"{where(p_mf, 'end', i)}: the band ends ({r['end']}) before it starts ({r['start']})")
        mbands[(r["line_id"], r["day_type"])].append((a, b, _int(p_mf, "headway_secs", i, r["headway_secs"],
                                                                 minimum=1)))
    n_metro_templates = 0
    for line in sorted(lines):
        seq = sorted(lines[line])
        name, color = line_meta[line]
        first_name = stations[seq[0][1]]["station_name"]
        last_name = stations[seq[-1][1]]["station_name"]
        out_routes.append([line, "METRO", line, f"{name}: {first_name} – {last_name}", 1, color, "FFFFFF"])
        for direction, order in ((0, seq), (1, seq[::-1])):
            shape_id = f"{line}-{direction}"
            along = [abs(s[2] - order[0][2]) for s in order]
            for n, (_sq, sid, _dm) in enumerate(order, start=1):
                st = stations[sid]
                out_shapes.append([shape_id, f"{float(st['lat']):.6f}", f"{float(st['lon']):.6f}", n,
                                   f"{along[n - 1]:.0f}"])
            for dt in DAY_TYPES:
                lst = sorted(mbands.get((line, dt), []))
                if not lst:
                    continue
                tid = f"{line}-{direction}-{dt}"
                out_trips.append([line, dt, tid, stations[order[-1][1]]["station_name"], direction, shape_id])
                t = float(lst[0][0])
                for n, (_sq, sid, _dm) in enumerate(order):
                    if n:
                        t += dwell + (along[n] - along[n - 1]) / run_ms
                    ts = int(round(t))
                    out_st.append([tid, _hms(ts), _hms(ts), f"M-{sid}", n + 1, f"{along[n]:.0f}"])
                for a, b, h in lst:
                    out_fr.append([tid, _hms(a), _hms(b), h, 0])
                n_metro_templates += 1

    # ------------------------------------------------------------------ calendar
    p_hol = d / "holidays.csv"
    cal_dates = []
    import datetime as _dt
    for i, r in enumerate(_read(p_hol, ("date", "runs_as_day_type")), start=1):
        try:
            day = _dt.datetime.strptime(r["date"], "%Y%m%d").date()
        except ValueError:
            raise DataError(f"{where(p_hol, 'date', i)}: '{r['date']}' is not a date written YYYYMMDD") from None
        usual = "wd" if day.weekday() < 5 else ("sa" if day.weekday() == 5 else "su")
        runs = r["runs_as_day_type"]
        if runs not in DAY_TYPES:
            raise DataError(f"{where(p_hol, 'runs_as_day_type', i)}: '{runs}' is not wd, sa or su")
        if usual != runs:
            cal_dates += [[usual, r["date"], 2], [runs, r["date"], 1]]

    tables = {
        "agency.txt": _csv(["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
                           [["METRO", "Metro de Santiago", "https://www.metro.cl", "America/Santiago", "es"],
                            ["RED", "Red Metropolitana de Movilidad", "https://www.red.cl", "America/Santiago",
                             "es"]]),
        "stops.txt": _csv(["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon", "location_type",
                           "parent_station"], [stop_rows[k] for k in sorted(stop_rows)]),
        "routes.txt": _csv(["route_id", "agency_id", "route_short_name", "route_long_name", "route_type",
                            "route_color", "route_text_color"], sorted(out_routes)),
        "trips.txt": _csv(["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"],
                          sorted(out_trips, key=lambda r: r[2])),
        "stop_times.txt": _csv(["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence",
                                "shape_dist_traveled"], sorted(out_st, key=lambda r: (r[0], r[4]))),
        "frequencies.txt": _csv(["trip_id", "start_time", "end_time", "headway_secs", "exact_times"],
                                sorted(out_fr, key=lambda r: (r[0], r[1]))),
        "shapes.txt": _csv(["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence",
                            "shape_dist_traveled"], out_shapes),
        "calendar.txt": _csv(["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                              "sunday", "start_date", "end_date"],
                             [[k, *v, FEED_START, FEED_END] for k, v in sorted(DAY_TYPES.items())]),
        "calendar_dates.txt": _csv(["service_id", "date", "exception_type"], sorted(cal_dates)),
        "feed_info.txt": _csv(["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date",
                               "feed_end_date", "feed_version"],
                              [["citybridge, reconstructed from DTPM GTFS V166.20260704",
                                "https://www.dtpm.cl/index.php/noticias/gtfs-vigente", "es", FEED_START, FEED_END,
                                f"citybridge-{FEED_VERSION}"]]),
    }
    stats = {"bus_routes": len(routes), "bus_patterns": len(pat_keys), "bus_stops": len(stops),
             "bus_templates": n_bus_templates, "metro_lines": len(lines), "metro_stations": len(stations),
             "metro_templates": n_metro_templates, "weekday_bus_trips": sum(
                 -(-(b - a) // h) for (rid, dirn, dt), lst in bands.items() if dt == "wd" for a, b, h in lst)}
    return tables, stats


def bike_stations(src: Path) -> list[dict]:
    """The 238 Bike Itaú stations (2022 list) as GBFS station_information entries."""
    p = src / "bike_itau_2022" / "stations.csv"
    out = []
    for i, r in enumerate(_read(p, ("station_id", "name", "lat", "lon")), start=1):
        lat, lon = _float(p, "lat", i, r["lat"]), _float(p, "lon", i, r["lon"])
        if not (-34.5 < lat < -32.5 and -71.8 < lon < -69.7):
            raise DataError(f"{where(p, 'lat', i)}: ({lat}, {lon}) is outside the Región Metropolitana; "
                            "check that latitude and longitude are not swapped")
        st = {"station_id": f"itau-{r['station_id']}", "name": r["name"], "lat": round(lat, 5),
              "lon": round(lon, 5)}
        if (r.get("address") or "").strip():
            st["address"] = r["address"].strip()
        out.append(st)
    out.sort(key=lambda s: s["station_id"])
    return out


def population_layer(src: Path, comunas: list[dict], pops_2024: dict[str, int]) -> dict:
    """The finer population layer: 2017 urban census zones scaled to 2024, plus each comuna's rest.

    Each zone gets its comuna's 2024 census total in proportion to the zone's
    share of the comuna's official 2017 total; the people of the comuna not in
    any mapped zone (rural localities and unmapped urban blocks) are put on the
    rest of the comuna's polygon. The layer's people therefore add up to each
    comuna's 2024 total.
    """
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    rec_p = src / "zonas_2017" / "rm_comunas_2017_reconciliation.csv"
    rec = {r["codigo_comuna"]: r for r in _read(rec_p, ("codigo_comuna", "pop_censo2017_official"))}
    zp = src / "zonas_2017" / "rm_zonas_censales_2017_pop.geojson"
    try:
        gj = json.loads(zp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{zp}: could not read the census zones ({exc}); restore the file") from None
    by_comuna: dict[str, list] = defaultdict(list)
    for i, ft in enumerate(gj["features"], start=1):
        p = ft["properties"]
        c = str(p["codigo_comuna"])
        if c not in rec:
            raise DataError(f"{where(zp, 'codigo_comuna', i)}: comuna {c} is not in the reconciliation table")
        by_comuna[c].append((str(p["geocodigo"]), float(p["poblacion"]), shape(ft["geometry"])))

    def rnd(o):
        if isinstance(o, (list, tuple)):
            if o and isinstance(o[0], (int, float)):
                return [round(float(v), 5) for v in o]
            return [rnd(v) for v in o]
        return o

    feats = []
    for com in comunas:
        cid = com["district_id"]
        if cid not in rec:
            raise DataError(f"{where(rec_p, 'codigo_comuna')}: comuna {cid} has no row; add it")
        official = float(rec[cid]["pop_censo2017_official"])
        total = pops_2024[cid]
        zones = by_comuna.get(cid, [])
        mapped = sum(z[1] for z in zones)
        for gid, pop17, geom in zones:
            feats.append({"zone_id": gid, "district_id": cid, "kind": "urban census zone (2017)",
                          "population": round(total * pop17 / official, 1), "geometry": geom})
        rest_pop = total * max(official - mapped, 0.0) / official
        rest = shape(com["geometry"])
        if zones:
            rest = rest.difference(unary_union([z[2] for z in zones]))
        if rest_pop > 0 and not rest.is_empty:
            feats.append({"zone_id": f"{cid}-rest", "district_id": cid,
                          "kind": "rest of the comuna (rural localities and unmapped blocks)",
                          "population": round(rest_pop, 1), "geometry": rest})
    def geo(g) -> dict:
        if g.geom_type == "GeometryCollection":
            g = unary_union([p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")])
        m = mapping(g)
        return {"type": m["type"], "coordinates": rnd(m["coordinates"])}

    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: v for k, v in f.items() if k != "geometry"},
         "geometry": geo(f["geometry"])} for f in sorted(feats, key=lambda f: f["zone_id"])]}
