"""Unit tests of citybridge.speed on hand-made GTFS fixtures, with hand-computed answers."""
from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Geod

from citybridge import feed as F
from citybridge import speed as V
from gtfs_fixtures import (STOPS, frequency_tables, timetable_tables, timetable_twin_of_frequency,
                           write_feed)

DATE = "20260107"


def _day(tmp_path, tables, name="f.zip"):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / name, tables)), DATE, crs="EPSG:32719")


def test_fixture_stops_are_one_km_apart():
    geod = Geod(ellps="WGS84")
    rows = [r.split(",") for r in STOPS.strip().splitlines()[1:]]
    for a, b in zip(rows, rows[1:]):
        d = geod.inv(float(a[3]), float(a[2]), float(b[3]), float(b[2]))[2]
        assert d == pytest.approx(1000, abs=2)


def test_one_km_in_six_minutes_is_ten_kmh(tmp_path):
    day = _day(tmp_path, timetable_tables())
    seg = V.segment_speeds(day)
    t1 = seg[seg["trip_id"] == "T1"].reset_index(drop=True)
    assert list(zip(t1["from_stop_id"], t1["to_stop_id"])) == [("S1", "S2"), ("S2", "S3"), ("S3", "S4")]
    assert (t1["run_s"] == 360).all() and (t1["n_links"] == 1).all()
    assert t1["distance_m"].to_numpy() == pytest.approx([1000] * 3, rel=2e-3)
    assert t1["speed_kmh"].to_numpy() == pytest.approx([10.0] * 3, rel=2e-3)
    assert list(t1["hour"]) == [7, 7, 7]
    # metro: 1 km in 2 min = 30 km/h; the 24:50 bus keeps its hour past midnight
    assert seg.loc[seg["trip_id"] == "MT1", "speed_kmh"].to_numpy() == pytest.approx([30.0] * 3, rel=2e-3)
    assert list(seg.loc[seg["trip_id"] == "TN", "hour"]) == [24, 24, 25]   # 24:50, 24:56, 25:02
    assert seg.attrs["merged_links"] == 0 and seg.attrs["dropped_zero_run_links"] == 0


def test_mode_speeds_sum_the_segments_of_each_mode(tmp_path):
    day = _day(tmp_path, timetable_tables())
    ms = V.mode_speeds(day).set_index("mode")
    # every metro segment is 1 km in 2 min
    assert ms.loc["metro", "speed_kmh"] == pytest.approx(30.0, rel=2e-3)
    seg = V.segment_speeds(day)
    bus = seg[seg["mode"] == "bus"]
    assert ms.loc["bus", "segments"] == len(bus)
    assert ms.loc["bus", "speed_kmh"] == pytest.approx(bus["distance_m"].sum() / bus["run_s"].sum() * 3.6)


def test_zero_run_times_are_merged_with_the_next_link(tmp_path):
    t = timetable_tables()
    # T1: S2 and S3 both at 07:06 (same-minute timetable); T2: S3 and S4 both at 07:22 (trip end)
    t["stop_times.txt"] = (t["stop_times.txt"]
                           .replace("T1,07:12:00,07:12:00,S3", "T1,07:06:00,07:06:00,S3")
                           .replace("T2,07:28:00,07:28:00,S4", "T2,07:22:00,07:22:00,S4"))
    seg = V.segment_speeds(_day(tmp_path, t))
    t1 = seg[seg["trip_id"] == "T1"].reset_index(drop=True)
    # S1→S2 (1 km, 6 min) then S2→S3→S4 merged: 2 km in 07:06→07:18 = 12 min = 10 km/h
    assert list(zip(t1["from_stop_id"], t1["to_stop_id"], t1["n_links"])) == [("S1", "S2", 1), ("S2", "S4", 2)]
    assert t1.loc[1, "run_s"] == 720
    assert t1.loc[1, "distance_m"] == pytest.approx(2000, rel=2e-3)
    assert t1.loc[1, "speed_kmh"] == pytest.approx(10.0, rel=2e-3)
    # T2's last link has no positive run time and nothing after it: dropped and counted
    t2 = seg[seg["trip_id"] == "T2"]
    assert list(t2["to_stop_id"]) == ["S2", "S3"]
    assert seg.attrs["merged_links"] == 1 and seg.attrs["dropped_zero_run_links"] == 1
    assert (seg["run_s"] > 0).all()


def test_segment_stats_are_time_weighted(tmp_path):
    t = timetable_tables()
    # make T2's first link 12 min instead of 6 (5 km/h) by starting it at 07:04
    t["stop_times.txt"] = t["stop_times.txt"].replace("T2,07:10:00,07:10:00,S1", "T2,07:04:00,07:04:00,S1")
    seg = V.segment_speeds(_day(tmp_path, t))
    ss = V.segment_stats(seg).set_index(["from_stop_id", "to_stop_id", "mode"])
    s12 = ss.loc[("S1", "S2", "bus")]
    assert s12["trips"] == 4 and s12["routes"] == 1
    # 4 km in 6+12+6+6 = 30 min = 8 km/h (harmonic), not the arithmetic 8.75
    assert s12["speed_kmh"] == pytest.approx(8.0, rel=2e-3)
    assert s12["speed_kmh_min"] == pytest.approx(5.0, rel=2e-3)
    assert s12["run_s"] == pytest.approx(450)
    by_p = V.segment_stats(seg, periods={"am": ("07:00", "09:00")}).set_index(
        ["from_stop_id", "to_stop_id", "mode", "period"])
    assert by_p.loc[("S1", "S2", "bus", "am"), "trips"] == 3
    assert by_p.loc[("S1", "S2", "bus", "other"), "trips"] == 1


def test_route_speeds_total_distance_over_total_time(tmp_path):
    day = _day(tmp_path, timetable_tables())
    rs = V.route_speeds(day).set_index("route_id")
    assert rs.loc["B1", "trips"] == 4
    assert rs.loc["B1", "distance_km"] == pytest.approx(12.0, rel=2e-3)
    assert rs.loc["B1", "hours"] == pytest.approx(1.2)
    assert rs.loc["B1", "speed_kmh"] == pytest.approx(10.0, rel=2e-3)
    assert rs.loc["M1", "speed_kmh"] == pytest.approx(30.0, rel=2e-3)
    bh = V.route_speeds(day, by_hour=True).set_index(["route_id", "hour"])
    assert bh.loc[("B1", 7), "trips"] == 3 and bh.loc[("B1", 24), "trips"] == 1


def test_slow_corridors_pick_slow_busy_bus_segments(tmp_path):
    day = _day(tmp_path, timetable_tables())
    ss = V.segment_stats(V.segment_speeds(day))
    sc = V.slow_corridors(ss, max_speed_kmh=15, min_trips=4, min_distance_m=500, stops=day.stops)
    assert len(sc) == 3 and set(sc["mode"]) == {"bus"}       # metro at 30 km/h is not slow
    assert set(sc["from_stop_name"]) == {"Uno", "Dos", "Tres"}
    assert sc["vehicle_hours"].to_numpy() == pytest.approx([0.4] * 3)   # 4 trips × 6 min
    assert V.slow_corridors(ss, min_trips=5).empty
    assert V.slow_corridors(ss, max_speed_kmh=9).empty


def test_frequency_trips_match_their_timetable_twin(tmp_path):
    freq = _day(tmp_path, frequency_tables(), "freq.zip")
    twin = _day(tmp_path, timetable_twin_of_frequency(), "twin.zip")
    cols = ["route_id", "from_stop_id", "to_stop_id", "departure_s", "distance_m", "run_s", "speed_kmh"]
    a = V.segment_speeds(freq).sort_values(["departure_s"])[cols].reset_index(drop=True)
    b = V.segment_speeds(twin).sort_values(["departure_s"])[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(V.segment_stats(V.segment_speeds(freq)),
                                  V.segment_stats(V.segment_speeds(twin)))
    pd.testing.assert_frame_equal(V.route_speeds(freq, by_hour=True), V.route_speeds(twin, by_hour=True))


def test_segment_lines_have_geometry_and_class():
    import pandas as pd
    from citybridge.speed import SPEED_CLASSES, segment_lines
    stats = pd.DataFrame({"from_stop_id": ["a", "b", "a"], "to_stop_id": ["b", "c", "zz"],
                          "speed_kmh": [10.0, 40.0, 20.0], "trips": [5, 6, 7]})
    stops = pd.DataFrame({"stop_id": ["a", "b", "c"], "stop_lon": [0.0, 1.0, 2.0], "stop_lat": [0.0, 0.0, 1.0]})
    g = segment_lines(stats, stops)
    assert len(g) == 2  # the segment to an unknown stop is dropped
    assert list(g["speed_class"]) == ["< 12 km/h", "≥ 35 km/h"]
    assert set(g["speed_class"]) <= set(SPEED_CLASSES)
    assert g.geometry.iloc[1].coords[:] == [(1.0, 0.0), (2.0, 1.0)]



def test_segment_stats_of_a_table_changed_in_place_reads_its_rows(tmp_path):
    """The fast path (the day's codes) is taken only for the untouched table of segment_speeds."""
    from gtfs_fixtures import write_feed

    day = F.prepare_day(F.read_feed(write_feed(tmp_path / "feed.zip", timetable_tables())), "20260107",
                        crs="EPSG:32719")
    seg = V.segment_speeds(day)
    fast = V.segment_stats(seg, periods={"am": ("07:00", "09:00")})
    slow = V.segment_stats(seg.copy(), periods={"am": ("07:00", "09:00")})   # a copy is read from its text
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast, slow)
    seg["run_s"] = seg["run_s"] * 2                 # changed in place: half the speed everywhere
    halved = V.segment_stats(seg)
    pd.testing.assert_frame_equal(halved, V.segment_stats(seg.copy()))
    assert halved["speed_kmh"].to_numpy() == pytest.approx(V.segment_stats(seg.assign(run_s=seg["run_s"] / 2))
                                                           ["speed_kmh"].to_numpy() / 2)
    seg.index = seg.index + 1                       # relabelled rows: read from the text again
    pd.testing.assert_frame_equal(V.segment_stats(seg), halved)


def test_slow_segments_sentence_in_spanish_and_chinese():
    from citybridge import i18n
    from citybridge.speed import slow_segments_sentence

    slow = pd.DataFrame({"distance_m": [1500.0, 2600.0], "vehicle_hours": [1000.0, 234.0]})
    kw = dict(city="Santiago", max_speed_kmh=18.0, min_trips_per_hour=8.0, period="punta mañana")
    with i18n.use_language("es"):
        assert slow_segments_sentence(slow, **kw) == (
            "2 tramos de Santiago bajan de 18 km/h con 8 o más buses por hora en el período punta mañana, "
            "con 4,1 km y 1.234 buses-hora en total.")
    with i18n.use_language("zh"):
        assert slow_segments_sentence(slow.head(1), **{**kw, "period": "早高峰"}) == (
            "Santiago在早高峰时段有 1 个路段速度低于 18 km/h 且每小时通过 8 辆及以上公交车，合计 1.5 公里、1,000 公交车小时。")
    assert slow_segments_sentence(slow.head(1), **{**kw, "period": "AM peak"}) == (
        "1 segment of Santiago runs below 18 km/h with 8 or more buses per hour in the AM peak period, "
        "together 1.5 km and 1,000 bus-hours.")
