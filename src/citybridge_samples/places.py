"""The sample cities' places: district boundaries, population with an urban/rural class, bike share, profile.

Districts come from the source GeoJSON with census populations; each is
classed urban or rural by the city's rule (:func:`urban_class`); bike-share
stations are placed deterministically (a seeded :class:`random.Random`) and
written as GBFS v2.3; the profile ``city.yml`` is validated against
:class:`citybridge.city.CityProfile` before it is written.
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import yaml

from citybridge.city import CityProfile
from citybridge.errors import DataError, where

from .feedmodel import LocalProjection, SampleStop
from .files import csv_text, json_text, read_csv, read_yaml, write_text

#: ``last_updated`` of the GBFS files (2026-01-01T00:00:00Z).
GBFS_LAST_UPDATED = 1767225600


def urban_class(pop: float, area: float, rule: dict) -> str:
    """``urban`` or ``rural`` by the density rule of the city (people, km²); see :func:`class_rule_text`."""
    dens = pop / area if area > 0 else 0.0
    if dens >= float(rule["urban_density_per_km2"]):
        return "urban"
    if dens >= float(rule["large_density_per_km2"]) and pop >= float(rule["large_population"]):
        return "urban"
    return "rural"


def class_rule_text(rule: dict) -> str:
    """The urban/rural rule in words, as the profile states it."""
    return (f"urban if the population density is at least {int(rule['urban_density_per_km2']):,} "
            f"inhabitants/km2 (the Degree of Urbanisation urban-centre density), or at least "
            f"{int(rule['large_density_per_km2']):,} inhabitants/km2 with at least "
            f"{int(rule['large_population']):,} inhabitants (a large district whose average density is "
            f"diluted by unbuilt land); otherwise rural. Areas are geodesic areas of the boundary polygons.")


def geodesic_area_km2(geom) -> float:
    """Area (km²) of a WGS-84 polygon on the ellipsoid."""
    from pyproj import Geod

    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(area) / 1e6


def round_coords(obj):
    """GeoJSON coordinates rounded to six decimals (about 0.1 m), nested lists kept."""
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 6) for v in obj]
        return [round_coords(v) for v in obj]
    return obj


def read_districts(geojson_path: Path, id_key: str, names: dict[str, tuple[str, str]]) -> list[dict]:
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
                                 "coordinates": round_coords(ft["geometry"]["coordinates"])}})
    out.sort(key=lambda d: d["district_id"])
    return out


def write_boundaries(folder: Path, districts: list[dict], written: list[Path]) -> None:
    """``boundaries.geojson``: one feature per district with district_id, name, name_local."""
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature",
                        "properties": {"district_id": d["district_id"], "name": d["name"],
                                       "name_local": d["name_local"]},
                        "geometry": d["geometry"]} for d in districts]}
    write_text(folder / "boundaries.geojson", json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n",
               written)


def write_population(folder: Path, districts: list[dict], pops: dict[str, int], rule: dict,
                     written: list[Path]) -> list[dict]:
    """``population.csv`` (population, area km², density, area class) and the districts with those values."""
    from shapely.geometry import shape

    rows, out = [], []
    for d in districts:
        area = geodesic_area_km2(shape(d["geometry"]))
        pop = pops[d["district_id"]]
        cls = urban_class(pop, area, rule)
        rows.append([d["district_id"], d["name"], pop, f"{area:.1f}", f"{pop / area:.1f}", cls])
        out.append({"district_id": d["district_id"], "name": d["name"], "population": pop, "area_km2": area,
                    "area_class": cls})
    write_text(folder / "population.csv",
               csv_text(["district_id", "name", "population", "area_km2", "density_per_km2", "area_class"], rows),
               written)
    return out


def write_gbfs(folder: Path, cfg: dict, *, timezone: str, metro: list[SampleStop], districts: list[dict],
               proj: LocalProjection, written: list[Path], name_prefix: str) -> int:
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
    placed: list[tuple[float, float, float, float, SampleStop]] = []  # lat, lon, x, y, anchor

    def try_place(anchor: SampleStop, r: float, theta: float) -> bool:
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
    write_gbfs_files(folder, system={"system_id": cfg["system_id"], "language": cfg["language"], "name": cfg["name"],
                                "short_name": "sample", "operator": "citybridge (illustrative sample data)",
                                "timezone": timezone},
                     stations=stations, status=status, written=written)
    return len(stations)


def write_gbfs_files(folder: Path, *, system: dict, stations: list[dict], status: list[dict] | None,
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


def parse_number(v: str) -> float | int:
    """A table value as int when written without a decimal point, else float."""
    x = float(v)
    return int(x) if x.is_integer() and "." not in v else x


def profile_dict(src: Path, *, rule: dict, extra_note: str) -> dict:
    """The city profile: profile.yml completed with the class rule, fleet, parameters and facts tables."""
    prof = read_yaml(src / "profile.yml")
    prof["population"]["class_rule"] = class_rule_text(rule)
    prof["fleet"] = [{"mode": r["mode"], "energy": r["energy"], "vehicles": int(r["vehicles"]), "year": r["year"],
                      "source": r["source"], "note": r["note"]}
                     for r in read_csv(src / "fleet.csv", ("mode", "energy", "vehicles", "year", "source"))]
    params = {}
    for r in read_csv(src / "parameters.csv", ("parameter", "value", "unit", "year", "source", "solid", "note")):
        params[r["parameter"]] = {"value": float(r["value"]), "unit": r["unit"], "year": r["year"],
                                  "source": r["source"], "solid": r["solid"].strip().lower() == "true",
                                  "note": r["note"]}
    prof["parameters"] = params
    prof["facts"] = [{"metric": r["metric"], "value": parse_number(r["value"]), "unit": r["unit"], "year": r["year"],
                      "source": r["source"]}
                     for r in read_csv(src / "facts.csv", ("metric", "value", "unit", "year", "source"))]
    prof["notes"] = (prof.get("notes", "").strip() + " " + extra_note).strip()
    return prof


def write_profile(folder: Path, slug: str, prof: dict, written: list[Path]) -> None:
    """``city.yml``, validated against :class:`citybridge.city.CityProfile` first."""
    try:
        CityProfile.model_validate(prof)
    except Exception as exc:  # pydantic.ValidationError
        raise DataError(f"data/samples/{slug}: the generated city.yml is not valid: {exc}") from None
    head = (f"# Generated by citybridge.samples from data/samples/{slug}/ -- edit those files and run\n"
            f"# 'citybridge samples'; do not edit this file by hand.\n")
    body = yaml.safe_dump(prof, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    write_text(folder / "city.yml", head + body, written)
