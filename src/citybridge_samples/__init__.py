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
from pathlib import Path

from citybridge.city import project_root
from citybridge.errors import DataError

from .feedmodel import (CALENDAR_END, CALENDAR_START, KIND_DESC, PEAK_BANDS, SERVICES, LocalProjection, SampleFeed,
                        SampleStop, StopPattern, assign_energy, band_departures, bus_network, metro_segment, read_bands,
                        route_bands)
from .files import hhmmss, read_csv, read_yaml, seconds_of, write_text, write_zip
from .places import (profile_dict, read_districts, write_boundaries, write_gbfs, write_gbfs_files, write_population,
                     write_profile)

__all__ = ["SAMPLE_SLUGS", "build_samples", "build_city"]

#: The sample cities, in build order.
SAMPLE_SLUGS = ("santiago", "hangzhou")


# --------------------------------------------------------------------------- Santiago


def _build_santiago(src: Path, out: Path, written: list[Path]) -> dict:
    from . import santiago as scl

    assume = read_yaml(src / "assumptions.yml")
    # Everything is computed before anything is written, so a defect in a
    # source table leaves data/cities/santiago untouched.
    tables, stats = scl.build_feed(src, assume)
    census = read_csv(src / "censo2024_comunal.csv", ("codigo_comuna", "nombre_comuna", "poblacion_censada"))
    names = {r["codigo_comuna"]: (r["nombre_comuna"], r["nombre_comuna"]) for r in census}
    pops = {r["codigo_comuna"]: int(r["poblacion_censada"]) for r in census}
    districts = read_districts(src / "comunas_dpa2023_simplified.geojson", "CUT_COM", names)
    layer = scl.population_layer(src, districts, pops)
    bikes = scl.bike_stations(src)
    prof = profile_dict(src, rule=assume["urban_rule"], extra_note="")

    write_zip(out / "gtfs.zip", tables, written)
    write_boundaries(out, districts, written)
    pop_rows = write_population(out, districts, pops, assume["urban_rule"], written)
    write_text(out / "population_zones.geojson",
               json.dumps(layer, ensure_ascii=False, separators=(",", ":")) + "\n", written)
    bs = assume["bike_share"]
    write_gbfs_files(out, system={"system_id": bs["system_id"], "language": "es", "name": bs["name"],
                             "operator": bs["operator"], "timezone": "America/Santiago"},
                     stations=bikes, status=None, written=written)
    write_profile(out, "santiago", prof, written)
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
    proj = LocalProjection(float(c["lat"]), float(c["lon"]))
    feed = SampleFeed(proj)

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
            feed.add_stop(SampleStop(sid, label, float(r["lat"]), float(r["lon"]),
                                     desc="Metro station (Amap coordinates converted from GCJ-02 to WGS-84)"))
            points[f"M:{r['name_zh']}"] = (float(r["lat"]), float(r["lon"]), label)
    heads = read_csv(src / "metro_headways_assumed.csv",
                     ("service_class", "day_type", "start_time", "end_time", "headway_s"))
    metro_seg = metro_segment(assume)

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
                    for t, _b in band_departures(metro_bands(cls, svc)):
                        feed.add_trip(f"M{line}", svc, f"{code}_{svc}_{direction}_{hhmmss(t).replace(':', '')}",
                                      headsign, direction, "electric", pat, t)

    # Buses.
    census = read_csv(src / "census2020_districts.csv", ("name_zh", "name_en", "adcode", "population",
                                                          "fold_into_adcode"))
    districts_src = src / "districts_fastgeocn_cgcs2000.geojson"
    names = {r["adcode"]: (r["name_en"], r["name_zh"]) for r in census if r["adcode"]}
    districts = read_districts(districts_src, "adcode", names)
    from shapely.geometry import shape
    for d in districts:
        p = shape(d["geometry"]).representative_point()
        points[f"D:{d['district_id']}"] = (round(p.y, 6), round(p.x, 6),
                                           f"{d['name_local']} {d['name']} (representative point)")
    routes = read_csv(src / "bus_routes.csv", ("route_id", "short_name", "long_name", "kind", "waypoints"))
    bands = read_bands(read_csv(src / "service_bands.csv", ("day_type", "band", "start", "end")))
    net = bus_network(feed, routes, points, assume, src)
    plans = {rid: route_bands(r, bands) for rid, (r, _p0, _p1) in net.items()}
    deps = {rid: {svc: band_departures(lst) for svc, lst in plans[rid].items()} for rid in net}
    weights = {rid: 2 * len(deps[rid].get("weekday", [])) for rid in net}
    kinds = {rid: net[rid][0]["kind"] for rid in net}
    energy, target, achieved = assign_energy(weights, kinds, read_csv(src / "fleet.csv"))
    factor = float(assume.get("peak_time_factor", 1.0))
    for rid, (r, p0, p1) in net.items():
        desc, color = KIND_DESC[r["kind"]]
        feed.routes.append([rid, "HZBUS", r["short_name"], r["long_name"], desc, 3, color, "FFFFFF", r["kind"]])
        for direction, pat in ((0, p0), (1, p1)):
            headsign = feed.stops[pat.stops[-1]].name
            for svc, lst in deps[rid].items():
                for t, band in lst:
                    f = factor if (svc == "weekday" and band in PEAK_BANDS) else 1.0
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
                feed.add_stop(SampleStop(sid, f"{p['name_zh']} {p['name_en']}", float(p["lat"]), float(p["lon"]),
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
            pat = StopPattern(ids, dists, times)
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
    write_boundaries(out, districts, written)
    pop_rows = write_population(out, districts, pops, assume["urban_rule"], written)
    metro_stops = [s for s in feed.stops.values() if s.stop_id.startswith("M")]
    n_bikes = write_gbfs(out, assume["bike_share"], timezone="Asia/Shanghai", metro=metro_stops, districts=districts,
                         proj=proj, written=written, name_prefix="公共自行车 Bike")
    note = _energy_note(target, achieved)
    prof = profile_dict(src, rule=assume["urban_rule"], extra_note=note)
    write_profile(out, "hangzhou", prof, written)
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
