"""Santiago's committed feed is DTPM's GTFS V166 rebuilt faithfully from the re-keyed tables.

Checks on ``data/cities/santiago`` against ``data/samples/santiago/dtpm_2026``:
counts, a handful of named routes (stop sequence, length, running time,
headways), the exact weekday trip count, calendar and holidays, the population
layer and the bike stations; and that bad source tables stop the build with a
message naming table, column and row while leaving ``data/cities`` untouched.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

from citybridge.errors import DataError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data" / "samples" / "santiago"
DTPM = SRC / "dtpm_2026"
CITY = ROOT / "data" / "cities" / "santiago"


@functools.cache
def _table(name: str) -> tuple[dict[str, str], ...]:
    """A re-keyed DTPM source table, read once per session (the route cases share it): read-only."""
    with (DTPM / name).open(encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


@pytest.fixture(scope="module")
def feed() -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(CITY / "gtfs.zip") as zf:
        return {n[:-4]: list(csv.DictReader(io.StringIO(zf.read(n).decode("utf-8")))) for n in zf.namelist()}


def _secs(t: str) -> int:
    h, m, s = (int(x) for x in t.split(":"))
    return h * 3600 + m * 60 + s


def test_counts_equal_the_reference(feed):
    routes = feed["routes"]
    assert sum(r["route_type"] == "3" for r in routes) == 418 == len(_table("bus_routes.csv"))
    assert sum(r["route_type"] == "1" for r in routes) == 7
    bus_templates = [t for t in feed["trips"] if not t["route_id"].startswith("L")]
    assert len({(t["route_id"], t["direction_id"]) for t in bus_templates}) == 718 == len(_table("bus_patterns.csv"))
    stops = feed["stops"]
    assert sum(not s["stop_id"].startswith("M-") for s in stops) == 12_134
    assert sum(s["stop_id"].startswith("M-") for s in stops) == 126
    assert len(feed["shapes"]) > 90_000 and len({s["shape_id"] for s in feed["shapes"]}) == 718 + 14


def test_weekday_expands_to_the_reference_bus_trip_count(santiago_day):
    day = santiago_day  # feed_day(load_city(CITY)): the default day, a Monday inside the validity period
    assert day.date == "20260706"
    assert (day.trips["mode"] == "bus").sum() == 64_603
    assert day.stop_times["trip_id"].isin(day.trips.loc[day.trips["mode"] == "bus", "trip_id"]).sum() > 3_500_000


@pytest.mark.parametrize("route,direction", [("101", "I"), ("210v", "R"), ("506", "I"), ("I09", "R"), ("D18", "I")])
def test_named_routes_keep_sequence_length_time_and_headways(feed, route, direction):
    ref = sorted((r for r in _table("bus_pattern_stops.csv") if r["route_id"] == route and r["direction"] == direction),
                 key=lambda r: int(r["stop_sequence"]))
    if not ref:
        pytest.skip(f"route {route} {direction} not in this feed version")
    tid = f"{route}-{direction}-wd"
    st = sorted((r for r in feed["stop_times"] if r["trip_id"] == tid), key=lambda r: int(r["stop_sequence"]))
    assert [r["stop_id"] for r in st] == [r["stop_code"] for r in ref]
    length = sum(float(r["dist_from_prev_m"]) for r in ref)
    assert float(st[-1]["shape_dist_traveled"]) == pytest.approx(length, abs=1)
    run = sum(int(r["secs_from_prev"]) for r in ref)
    assert _secs(st[-1]["arrival_time"]) - _secs(st[0]["departure_time"]) == run
    bands = [(int(r["start_secs"]), int(r["end_secs"]), int(r["headway_secs"])) for r in _table("bus_frequencies.csv")
             if r["route_id"] == route and r["direction"] == direction and r["day_type"] == "wd"]
    got = [(_secs(f["start_time"]), _secs(f["end_time"]), int(f["headway_secs"])) for f in feed["frequencies"]
           if f["trip_id"] == tid]
    assert sorted(got) == sorted(bands) and all(f["exact_times"] == "0" for f in feed["frequencies"])


def test_calendar_and_holidays_run_as_sunday(feed):
    cal = {c["service_id"]: c for c in feed["calendar"]}
    assert set(cal) == {"wd", "sa", "su"}
    assert all(c["start_date"] == "20260704" and c["end_date"] == "20261231" for c in cal.values())
    cd = {(c["date"], c["service_id"]): c["exception_type"] for c in feed["calendar_dates"]}
    assert cd[("20260716", "wd")] == "2" and cd[("20260716", "su")] == "1"       # a Thursday
    assert cd[("20261031", "sa")] == "2" and cd[("20261031", "su")] == "1"       # a Saturday
    for h in _table("holidays.csv"):
        assert ("su" if h["runs_as_day_type"] == "su" else "?") == "su"


def test_metro_lines_follow_the_station_order(feed):
    want = defaultdict(list)
    for r in sorted(_table("metro_line_stations.csv"), key=lambda r: (r["line_id"], int(r["seq"]))):
        want[r["line_id"]].append(f"M-{r['station_id']}")
    for line, ids in want.items():
        got = [r["stop_id"] for r in sorted((r for r in feed["stop_times"] if r["trip_id"] == f"{line}-0-wd"),
                                            key=lambda r: int(r["stop_sequence"]))]
        assert got == ids, line
    heads = [f for f in feed["frequencies"] if f["trip_id"] == "L1-0-wd"]
    ref = [r for r in _table("metro_frequencies.csv") if r["line_id"] == "L1" and r["day_type"] == "wd"]
    assert sorted(int(f["headway_secs"]) for f in heads) == sorted(int(r["headway_secs"]) for r in ref)


def test_gtfs_kit_reads_the_feed():
    gk = pytest.importorskip("gtfs_kit")
    f = gk.read_feed(CITY / "gtfs.zip", dist_units="m")
    assert len(f.routes) == 425 and f.frequencies is not None and len(f.shapes) > 90_000


def test_population_layer_adds_up_to_the_2024_census():
    layer = json.loads((CITY / "population_zones.geojson").read_text(encoding="utf-8"))
    per = defaultdict(float)
    for ft in layer["features"]:
        per[ft["properties"]["district_id"]] += ft["properties"]["population"]
    census = {r["district_id"]: int(r["population"]) for r in
              csv.DictReader((CITY / "population.csv").open(encoding="utf-8"))}
    assert set(per) == set(census)
    for k, v in census.items():
        assert per[k] == pytest.approx(v, abs=2 + 0.1 * sum(f["properties"]["district_id"] == k
                                                            for f in layer["features"])), k
    assert sum(f["properties"]["kind"].startswith("urban census zone") for f in layer["features"]) == 1865


def test_banner_and_attribution():
    from citybridge.city import load_city
    from citybridge.notebook import banner

    city = load_city(CITY)
    text = banner(city).text
    assert "RECONSTRUCTED" in text and "GTFS V166.20260704" in text and "Metro running times" in text
    assert city.profile.download["sha256"].startswith("acc7705c")
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "V166.20260704" in readme and "transformed" in readme


# --------------------------------------------------------------------------- bad source tables

@pytest.fixture()
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data" / "samples", root / "data" / "samples")
    shutil.copytree(CITY, root / "data" / "cities" / "santiago")
    return root


def _mangle(path: Path, row: int, col: str, value: str) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[row - 1][col] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _drop(path: Path, keep) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(r for r in rows if keep(r))


@pytest.mark.parametrize("case", ["missing stop code", "route without frequencies", "broken polyline"])
def test_bad_source_table_names_table_column_row_and_writes_nothing(project, case):
    from citybridge_samples import build_city

    d = project / "data" / "samples" / "santiago" / "dtpm_2026"
    if case == "missing stop code":
        _mangle(d / "bus_pattern_stops.csv", 5, "stop_code", "NOPE99")
        want = ["bus_pattern_stops.csv", "stop_code", "row 5", "NOPE99"]
    elif case == "route without frequencies":
        _drop(d / "bus_frequencies.csv", lambda r: not (r["route_id"] == "101" and r["direction"] == "I"))
        want = ["bus_frequencies.csv", "101 I", "no frequency band"]
    else:
        _mangle(d / "bus_shapes_polyline5.csv", 3, "encoded_polyline", "~")
        want = ["bus_shapes_polyline5.csv", "encoded_polyline", "row 3"]
    city = project / "data" / "cities" / "santiago"
    before = {p: p.read_bytes() for p in city.rglob("*") if p.is_file()}
    with pytest.raises(DataError) as exc:
        build_city("santiago", project)
    for w in want:
        assert w in str(exc.value), (w, str(exc.value))
    assert {p: p.read_bytes() for p in city.rglob("*") if p.is_file()} == before
