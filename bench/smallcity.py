"""The small city the bench runs each chapter for, next to Santiago.

gtfs-kit's Cairns sample (22 bus routes, 416 stops, about 636 trips on a
weekday) is scaffolded with ``citybridge new-city`` in the bench's copy of the
project, so it goes through the same entry points as a trainer's city. So that
its chapters take the same code paths as Santiago's, the bench adds (to the
copy only, never to data/cities/) what the Cairns feed lacks:

* ``boundaries.geojson``: a 3 x 3 grid of rectangles over the stops (id
  ``G1``..``G9``), and ``population.csv`` with made-up people per cell (the
  middle row urban, the others rural);
* ``gbfs/station_information.json``: a bike-share station at every 15th stop;
* Santiago's emission ``parameters`` and ``fleet_classes`` (chapter 05).

None of these figures is shown anywhere but in the bench's timings. Cairns
has no GTFS-Realtime capture, so its chapter 08 runs the "no capture" path.
When the gtfs-kit source distribution cannot be fetched, a tiny city is made
from the unit-test fixture feed (tests/gtfs_fixtures.py) instead.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

import feeds

SLUG = "cairns"


def stop_positions(gtfs: Path) -> list[tuple[float, float]]:
    """(lat, lon) of every stop in ``gtfs`` (a zip)."""
    with zipfile.ZipFile(gtfs) as zf:
        name = next(n for n in zf.namelist() if n.endswith("stops.txt"))
        rows = csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8-sig"))
        return [(float(r["stop_lat"]), float(r["stop_lon"])) for r in rows if r.get("stop_lat")]


def grid_inputs(folder: Path, stops: list[tuple[float, float]]) -> dict:
    """Write the grid boundaries, population and GBFS stations; return their city.yml sections."""
    lats, lons = [s[0] for s in stops], [s[1] for s in stops]
    pad = 0.01
    la0, la1, lo0, lo1 = min(lats) - pad, max(lats) + pad, min(lons) - pad, max(lons) + pad
    features, people = [], ["district_id,population,area_class"]
    for i in range(3):
        for j in range(3):
            a, b = la0 + (la1 - la0) * i / 3, la0 + (la1 - la0) * (i + 1) / 3
            c, d = lo0 + (lo1 - lo0) * j / 3, lo0 + (lo1 - lo0) * (j + 1) / 3
            gid = f"G{3 * i + j + 1}"
            features.append({"type": "Feature", "properties": {"district_id": gid, "name": f"Cell {gid}"},
                             "geometry": {"type": "Polygon",
                                          "coordinates": [[[c, a], [d, a], [d, b], [c, b], [c, a]]]}})
            urban = i == 1
            people.append(f"{gid},{30000 if urban else 4000},{'urban' if urban else 'rural'}")
    (folder / "boundaries.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    (folder / "population.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    (folder / "gbfs").mkdir(exist_ok=True)
    stations = [{"station_id": f"b{k}", "name": f"Bench station {k}", "lat": la, "lon": lo, "capacity": 10}
                for k, (la, lo) in enumerate(stops[::15])]
    (folder / "gbfs" / "station_information.json").write_text(json.dumps(
        {"last_updated": 0, "ttl": 0, "version": "2.3", "data": {"stations": stations}}), encoding="utf-8")
    return {"boundaries": {"file": "boundaries.geojson", "id_column": "district_id", "name_column": "name",
                           "attribution": "bench: synthetic grid"},
            "population": {"file": "population.csv", "id_column": "district_id",
                           "population_column": "population", "class_column": "area_class",
                           "year": "2026", "source": "bench: synthetic"},
            "gbfs": "gbfs"}


def make_small_city(project: Path, citybridge: str, env: dict[str, str]) -> tuple[str, str]:
    """Create the small city in ``project``'s data/cities; return (slug, description)."""
    gtfs = feeds.gtfs_kit_sample("cairns_gtfs.zip")
    label = "gtfs-kit Cairns sample"
    if gtfs is None:
        sys.path.insert(0, str(feeds.ROOT / "tests"))
        from gtfs_fixtures import timetable_tables, write_feed

        gtfs = write_feed(feeds.OUT / "fixture_gtfs.zip", timetable_tables())
        label = "tests/gtfs_fixtures.py timetable feed (Cairns sample not available)"
    proc = subprocess.run([citybridge, "new-city", SLUG, "--gtfs", str(gtfs)], cwd=project, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"citybridge new-city {SLUG} failed:\n{proc.stdout}\n{proc.stderr}")
    folder = project / "data" / "cities" / SLUG
    extra = grid_inputs(folder, stop_positions(folder / "gtfs.zip"))
    santiago = yaml.safe_load((project / "data" / "cities" / "santiago" / "city.yml").read_text(encoding="utf-8"))
    extra.update({k: santiago[k] for k in ("parameters", "fleet_classes") if k in santiago})
    extra["name"] = "Cairns (bench)"
    yml = folder / "city.yml"
    text = yml.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("name:"))
    yml.write_text(text + "\n" + yaml.safe_dump(extra, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return SLUG, label
