"""Tests of the illustrative sample cities built by citybridge.samples.

The samples are rebuilt twice into temporary copies of ``data/samples`` (so the
build is deterministic) and compared with the committed ``data/cities`` files
(so the committed data is current); the other tests check the built feeds,
boundaries, population and bike share against the committed source tables.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import shutil
import zipfile
from pathlib import Path

import pytest

from citybridge.city import load_city
from citybridge_samples import SAMPLE_SLUGS, build_samples

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
CITIES = ROOT / "data" / "cities"

SANTIAGO_RURAL = {"Colina", "Lampa", "Tiltil", "Pirque", "San José de Maipo", "Melipilla", "Curacaví",
                  "María Pinto", "Alhué", "San Pedro", "Talagante", "Isla de Maipo", "El Monte",
                  "Padre Hurtado", "Peñaflor", "Buin", "Paine", "Calera de Tango"}
HANGZHOU_RURAL = {"330111", "330112", "330122", "330127", "330182"}  # Fuyang, Lin'an, Tonglu, Chun'an, Jiande
HANGZHOU_CORE = {"330102", "330105", "330106", "330108"}


_WRITTEN: dict[Path, list[Path]] = {}


def _build_copy(base: Path) -> Path:
    root = base / "project"
    shutil.copytree(SAMPLES, root / "data" / "samples")
    _WRITTEN[root] = build_samples(root)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent builds of the samples (project roots)."""
    a = _build_copy(tmp_path_factory.mktemp("build_a"))
    b = _build_copy(tmp_path_factory.mktemp("build_b"))
    return a, b


@pytest.fixture(scope="module")
def root(built) -> Path:
    return built[0]


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _table(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")))


@functools.lru_cache(maxsize=4)
def _gtfs(root: Path, slug: str) -> dict[str, list[dict[str, str]]]:
    """The feed's tables as lists of rows (cached: treat as read-only)."""
    with zipfile.ZipFile(root / "data" / "cities" / slug / "gtfs.zip") as zf:
        return {n[:-4]: _table(zf, n) for n in zf.namelist()}


def _secs(t: str) -> int:
    h, m, s = (int(x) for x in t.split(":"))
    return h * 3600 + m * 60 + s


def _weekday_departures(feed: dict[str, list[dict[str, str]]]) -> dict[str, list[tuple[str, int]]]:
    """{trip_id: [(route_id, departure_s), ...]} for weekday trips, frequencies expanded."""
    first = {}
    for r in feed["stop_times"]:
        if r["stop_sequence"] == "1":
            first[r["trip_id"]] = _secs(r["departure_time"])
    freqs: dict[str, list[tuple[int, int, int]]] = {}
    for f in feed.get("frequencies", []):
        freqs.setdefault(f["trip_id"], []).append((_secs(f["start_time"]), _secs(f["end_time"]),
                                                   int(f["headway_secs"])))
    out: dict[str, list[tuple[str, int]]] = {}
    for t in feed["trips"]:
        if t["service_id"] not in ("weekday", "wd"):
            continue
        if t["trip_id"] in freqs:
            deps = [a + k * h for a, b, h in freqs[t["trip_id"]] for k in range(math.ceil((b - a) / h))]
        else:
            deps = [first[t["trip_id"]]]
        out[t["trip_id"]] = [(t["route_id"], d) for d in deps]
    return out


# --------------------------------------------------------------------------- determinism

def test_build_is_deterministic(built):
    a, b = (r / "data" / "cities" for r in built)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    for rel in fa:
        assert fa[rel].read_bytes() == fb[rel].read_bytes(), f"{rel} differs between two builds"


def test_committed_files_are_current(root):
    """The committed data/cities files equal a fresh build. Zips are compared
    member by member (names, order, content, timestamps), because another zlib
    build may compress the same content to other bytes."""
    for slug in SAMPLE_SLUGS:
        new, old = _files(root / "data" / "cities" / slug), _files(CITIES / slug)
        assert set(new) <= set(old), f"{slug}: missing committed files {set(new) - set(old)}; run 'citybridge samples'"
        for rel, p in new.items():
            if rel.endswith(".zip"):
                with zipfile.ZipFile(p) as zn, zipfile.ZipFile(old[rel]) as zo:
                    assert [(i.filename, i.date_time) for i in zn.infolist()] == \
                           [(i.filename, i.date_time) for i in zo.infolist()]
                    for name in zn.namelist():
                        assert zn.read(name) == zo.read(name), f"{slug}/{rel}:{name} is stale; run 'citybridge samples'"
            else:
                assert p.read_bytes() == old[rel].read_bytes(), f"{slug}/{rel} is stale; run 'citybridge samples'"


def test_build_returns_written_paths(root):
    paths = _WRITTEN[root]
    assert paths == sorted(paths)
    names = {p.relative_to(root / "data" / "cities").as_posix() for p in paths}
    for slug in SAMPLE_SLUGS:
        for f in ("city.yml", "gtfs.zip", "boundaries.geojson", "population.csv", "gbfs/gbfs.json",
                  "gbfs/station_information.json", "gbfs/system_information.json"):
            assert f"{slug}/{f}" in names


# --------------------------------------------------------------------------- profiles

@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_profile_validates(root, slug):
    city = load_city(root / "data" / "cities" / slug)
    p = city.profile
    assert p.source_datum == "WGS84" and p.gtfs == "gtfs.zip" and p.gbfs == "gbfs"
    assert city.status == {"santiago": "reconstructed", "hangzhou": "illustrative"}[slug]
    assert p.timezone == {"santiago": "America/Santiago", "hangzhou": "Asia/Shanghai"}[slug]
    assert p.crs == {"santiago": "EPSG:32719", "hangzhou": "EPSG:32650"}[slug]
    assert p.population.class_rule and p.boundaries.attribution
    assert p.fleet and all(f.source for f in p.fleet)


@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_every_parameter_has_a_source(root, slug):
    params = load_city(root / "data" / "cities" / slug).profile.parameters
    given = {k: v for k, v in params if v is not None}
    assert {"grid_kgco2_per_kwh", "diesel_kgco2_per_litre", "diesel_bus_litres_per_100km",
            "ebus_kwh_per_km"} <= set(given)
    for name, v in given.items():
        assert v.source.startswith("http"), name
        assert v.solid or v.note, f"{name} is not solid and has no note"
    if slug == "santiago":
        assert given["grid_kgco2_per_kwh"].solid is False


def test_facts_share_metrics(root):
    facts = {s: {f.metric for f in load_city(root / "data" / "cities" / s).profile.facts} for s in SAMPLE_SLUGS}
    common = {"metro_network_length", "metro_lines", "metro_stations_published", "metro_stations_unique",
              "metro_daily_ridership", "population", "area", "bus_fleet_total", "bus_fleet_electric",
              "bus_fleet_electric_share", "bike_share_stations", "bike_share_bikes"}
    for s in SAMPLE_SLUGS:
        assert common <= facts[s], f"{s} lacks {common - facts[s]}"
    for s in SAMPLE_SLUGS:
        for f in load_city(root / "data" / "cities" / s).profile.facts:
            assert f.source.startswith("http") and " — " in f.source, f"{s}: {f.metric} needs 'URL — title'"


# --------------------------------------------------------------------------- GTFS

@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_gtfs_kit_reads_feed(root, slug):
    gk = pytest.importorskip("gtfs_kit")
    feed = gk.read_feed(root / "data" / "cities" / slug / "gtfs.zip", dist_units="km")
    for t in ("agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates", "feed_info"):
        assert getattr(feed, t) is not None and not getattr(feed, t).empty, t
    assert set(feed.agency["agency_timezone"]) == {load_city(root / "data" / "cities" / slug).profile.timezone}


def test_santiago_is_frequency_based_and_hangzhou_is_not(root):
    scl, hgh = _gtfs(root, "santiago"), _gtfs(root, "hangzhou")
    assert scl.get("frequencies") and all(f["exact_times"] == "0" for f in scl["frequencies"])
    assert {f["trip_id"] for f in scl["frequencies"]} == {t["trip_id"] for t in scl["trips"]}
    assert "frequencies" not in hgh


@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_every_route_runs_on_a_weekday(root, slug):
    feed = _gtfs(root, slug)
    deps = _weekday_departures(feed)
    per_route: dict[str, int] = {}
    for lst in deps.values():
        for rid, _ in lst:
            per_route[rid] = per_route.get(rid, 0) + 1
    for r in feed["routes"]:
        assert per_route.get(r["route_id"], 0) > 0, f"{slug}: route {r['route_id']} has no weekday trip"


@pytest.mark.parametrize("slug", ["hangzhou"])
def test_calendar_and_holiday(root, slug):
    feed = _gtfs(root, slug)
    cal = {c["service_id"]: c for c in feed["calendar"]}
    assert set(cal) == {"weekday", "saturday", "sunday"}
    assert all(c["start_date"] == "20260101" and c["end_date"] == "20261231" for c in cal.values())
    day = {"hangzhou": "20261001"}[slug]
    ex = {(c["service_id"], c["exception_type"]) for c in feed["calendar_dates"] if c["date"] == day}
    assert ex == {("weekday", "2"), ("sunday", "1")}
    assert "illustrative" in feed["feed_info"][0]["feed_publisher_name"]


@pytest.mark.parametrize("slug", ["hangzhou"])  # DTPM's 2026 bands all end by 24:00
def test_some_trips_run_past_midnight(root, slug):
    feed = _gtfs(root, slug)
    latest = max(_secs(r["arrival_time"]) for r in feed["stop_times"])
    if feed.get("frequencies"):
        latest = max(latest, max(_secs(f["end_time"]) for f in feed["frequencies"]))
    assert latest > 24 * 3600


def test_hangzhou_metro_matches_tables(root):
    feed = _gtfs(root, "hangzhou")
    table = list(csv.DictReader((SAMPLES / "hangzhou" / "metro_stations.csv").open(encoding="utf-8")))
    lines: dict[str, set[str]] = {}
    for r in table:
        lines.setdefault(r["line"], set()).add(r["name_zh"])
    assert len(lines) == 12 and len({r["name_zh"] for r in table}) == 259
    stops = {r["stop_id"]: r["stop_name"] for r in feed["stops"]}
    trip_route = {t["trip_id"]: t["route_id"] for t in feed["trips"]}
    served: dict[str, set[str]] = {}
    for r in feed["stop_times"]:
        rid = trip_route[r["trip_id"]]
        if rid.startswith("M"):
            served.setdefault(rid, set()).add(stops[r["stop_id"]].split(" ")[0])
    assert len({s for v in served.values() for s in v}) == 259
    for line, names in lines.items():
        assert served[f"M{line}"] == names, f"line {line}: stations differ from metro_stations.csv"
    # Main-path order of a weekday direction-0 trip.
    for line in ("1", "5", "3"):
        path = line if line != "3" else "3-main"
        want = [r["name_zh"] for r in sorted((r for r in table if r["path"] == path), key=lambda r: int(r["seq"]))]
        trip = next(t["trip_id"] for t in feed["trips"]
                    if t["trip_id"].startswith(f"M{line}_weekday_0_"))
        got = [stops[r["stop_id"]].split(" ")[0] for r in feed["stop_times"] if r["trip_id"] == trip]
        assert got == want


def test_hangzhou_water_buses(root):
    feed = _gtfs(root, "hangzhou")
    water = {r["route_id"] for r in feed["routes"] if r["route_type"] == "4"}
    assert water == {"W1", "W2", "W3", "W7"}
    piers = [s for s in feed["stops"] if s["stop_id"].startswith("W")]
    assert piers and all(s["position_approximate"] == "1" and "APPROXIMATE" in s["stop_desc"] for s in piers)


@pytest.mark.parametrize("slug", ["hangzhou"])
def test_bus_vehicle_energy_matches_fleet(root, slug):
    feed = _gtfs(root, slug)
    city = load_city(root / "data" / "cities" / slug)
    fleet = {f.energy: f.vehicles for f in city.profile.fleet if f.mode == "bus"}
    buses = {r["route_id"] for r in feed["routes"] if r["route_type"] == "3"}
    energy = {t["trip_id"]: t["vehicle_energy"] for t in feed["trips"]}
    assert set(energy.values()) <= {"diesel", "electric", "other"}
    counts: dict[str, int] = {}
    for tid, lst in _weekday_departures(feed).items():
        if lst and lst[0][0] in buses:
            counts[energy[tid]] = counts.get(energy[tid], 0) + len(lst)
    total = sum(counts.values())
    for e, n in fleet.items():
        assert counts.get(e, 0) / total == pytest.approx(n / sum(fleet.values()), abs=0.02), e


@pytest.mark.parametrize("slug", ["hangzhou"])
def test_rural_services_are_sparser(root, slug):
    feed = _gtfs(root, slug)
    kind = {r["route_id"]: r["service_kind"] for r in feed["routes"]}
    per_hour: dict[str, float] = {}
    for lst in _weekday_departures(feed).values():
        for rid, d in lst:
            if 7 * 3600 <= d < 20 * 3600:
                per_hour[rid] = per_hour.get(rid, 0.0) + 1 / 13
    rural = [per_hour.get(r, 0.0) for r, k in kind.items() if k == "rural"]
    trunk = [per_hour.get(r, 0.0) for r, k in kind.items() if k == "trunk"]
    assert rural and trunk
    assert max(rural) < min(trunk)


@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_stop_times_size(root, slug):
    n = len(_gtfs(root, slug)["stop_times"])
    assert n < {"santiago": 120_000, "hangzhou": 400_000}[slug]


# --------------------------------------------------------------------------- places

def _boundaries(root: Path, slug: str) -> dict:
    return json.loads((root / "data" / "cities" / slug / "boundaries.geojson").read_text(encoding="utf-8"))


def _extent(gj: dict) -> tuple[float, float, float, float]:
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)
    for f in gj["features"]:
        walk(f["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


@pytest.mark.parametrize("slug,n,total", [("santiago", 52, 7_400_741), ("hangzhou", 13, 11_936_010)])
def test_population_and_classes(root, slug, n, total):
    rows = list(csv.DictReader((root / "data" / "cities" / slug / "population.csv").open(encoding="utf-8")))
    assert len(rows) == n and sum(int(r["population"]) for r in rows) == total
    assert all(r["area_class"] in {"urban", "rural"} for r in rows)
    assert all(float(r["area_km2"]) > 0 and int(r["population"]) > 0 for r in rows)
    ids = {f["properties"]["district_id"] for f in _boundaries(root, slug)["features"]}
    assert ids == {r["district_id"] for r in rows}
    cls = {r["district_id"]: r["area_class"] for r in rows}
    names = {r["name"]: r["area_class"] for r in rows}
    if slug == "santiago":
        assert all(names[c] == "rural" for c in SANTIAGO_RURAL)
        assert names["Santiago"] == "urban" and names["Puente Alto"] == "urban" and names["Maipú"] == "urban"
    else:
        assert all(cls[c] == "rural" for c in HANGZHOU_RURAL)
        assert all(cls[c] == "urban" for c in HANGZHOU_CORE)
        xihu = next(r for r in rows if r["district_id"] == "330106")
        assert int(xihu["population"]) == 1_089_229 + 23_763  # West Lake Scenic Area folded in


@pytest.mark.parametrize("slug", SAMPLE_SLUGS)
def test_coordinates_inside_extent(root, slug):
    x0, y0, x1, y1 = _extent(_boundaries(root, slug))
    assert -180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90
    if slug == "santiago":
        assert y1 < 0 and x1 < 0
    else:
        assert y0 > 0 and x0 > 100
    feed = _gtfs(root, slug)
    pts = [(float(s["stop_lon"]), float(s["stop_lat"])) for s in feed["stops"]]
    info = json.loads((root / "data" / "cities" / slug / "gbfs" / "station_information.json").read_text("utf-8"))
    pts += [(s["lon"], s["lat"]) for s in info["data"]["stations"]]
    for lon, lat in pts:
        assert x0 <= lon <= x1 and y0 <= lat <= y1, (lon, lat)


@pytest.mark.parametrize("slug,n", [("santiago", 238), ("hangzhou", 400)])
def test_gbfs(root, slug, n):
    folder = root / "data" / "cities" / slug / "gbfs"
    auto = json.loads((folder / "gbfs.json").read_text("utf-8"))
    assert auto["version"] == "2.3"
    feeds = {f["name"] for lang in auto["data"].values() for f in lang["feeds"]}
    assert {"system_information", "station_information"} <= feeds
    system = json.loads((folder / "system_information.json").read_text("utf-8"))["data"]
    assert {"system_id", "language", "name", "timezone"} <= set(system)
    assert ("illustrative" in system["name"]) == (slug == "hangzhou")
    stations = json.loads((folder / "station_information.json").read_text("utf-8"))["data"]["stations"]
    assert len(stations) == n and len({s["station_id"] for s in stations}) == n
    assert all(s["name"] for s in stations)
    if slug == "hangzhou":
        assert all(s["capacity"] > 0 for s in stations)
    else:  # the real 2022 list has no dock counts: none is invented
        assert not any("capacity" in s for s in stations) and "2022" in system["name"]


# --------------------------------------------------------------------------- sources

def test_every_sample_table_names_its_source():
    for path in sorted(SAMPLES.rglob("*.csv")):
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert rows, path
        if (path.parent / "SOURCE.md").is_file():  # re-keyed source tables: one source for the folder
            assert "Source" in (path.parent / "SOURCE.md").read_text(encoding="utf-8")
            continue
        col = "source"
        assert col in rows[0], f"{path}: no 'source' column"
        assert all(r[col].strip() for r in rows), f"{path}: a row has an empty source"
    for path in sorted(SAMPLES.rglob("*.yml")):
        assert path.read_text(encoding="utf-8").lstrip().startswith("#"), f"{path}: start with a source comment"
