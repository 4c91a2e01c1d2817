"""Observed operations (citybridge.observed): hand-computed answers on hand-made positions."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from citybridge import observed as O
from citybridge import punctuality as P
from citybridge import realtime as R
from citybridge.feed import prepare_day, read_feed
from gtfs_fixtures import timetable_tables, write_feed

CRS = "EPSG:32719"
X0, Y0 = 350_000.0, 6_300_000.0
TZ = "America/Santiago"
_inv = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def lonlat(x, y):
    return _inv.transform(X0 + np.asarray(x, float), Y0 + np.asarray(y, float))


def positions(rows):
    """rows: (snapshot_ts, fix_ts, vehicle, x, y, speed_kmh, route_id, direction_id, status)."""
    df = pd.DataFrame(rows, columns=["snapshot_ts", "fix_ts", "vehicle_id", "x", "y", "speed_kmh", "route_id",
                                     "direction_id", "status"])
    lon, lat = lonlat(df["x"], df["y"])
    return df.drop(columns=["x", "y"]).assign(lat=lat, lon=lon, trip_id="", stop_id="", bearing=np.nan)


def l_shape():
    """One route-direction: 1,000 m east, then 1,000 m north."""
    g = shapely.linestrings([[X0, Y0], [X0 + 1000, Y0], [X0 + 1000, Y0 + 1000]])
    return pd.DataFrame({"shape_key": ["R|0"], "route_id": ["R"], "direction_id": [0], "mode": ["bus"],
                         "geometry": [g]})


def test_known_distance_along_known_shape_gives_known_speed():
    # (500, 0) -> (1000, 500): 1,000 m along the L (707 m straight) in 180 s = 20 km/h
    pos = positions([(1000, 1000, "v1", 500, 0, 25.0, "X", 0, "IN_TRANSIT_TO"),
                     (1180, 1180, "v1", 1000, 500, 25.0, "X", 0, "IN_TRANSIT_TO")])
    mv = O.observed_moves(pos, l_shape(), crs=CRS)
    assert len(mv) == 1
    assert mv["progress_m"].iloc[0] == pytest.approx(1000, abs=0.5)
    assert mv["straight_m"].iloc[0] == pytest.approx(707.1, abs=0.5)
    assert mv["speed_kmh"].iloc[0] == pytest.approx(20.0, abs=0.01)


def test_stale_or_unchanged_fixes_give_no_move():
    pos = positions([(1000, 1000, "v1", 500, 0, 25.0, "X", 0, ""),
                     (1180, 1000, "v1", 500, 0, 25.0, "X", 0, "")])   # same fix again, now 180 s old
    assert O.observed_moves(pos, l_shape(), crs=CRS).empty
    pos = positions([(1000, 500, "v1", 500, 0, 25.0, "X", 0, ""),       # 500 s old: stale
                     (1180, 1180, "v1", 1000, 500, 25.0, "X", 0, "")])
    assert O.observed_moves(pos, l_shape(), crs=CRS).empty


def test_fix_500_m_from_every_shape_is_unmatched():
    pos = positions([(1000, 1000, "far", 500, -500, 0.0, "", -1, ""),
                     (1000, 1000, "near", 500, 10, 0.0, "", -1, "")])
    matched = O.match_positions(pos, l_shape(), crs=CRS)
    m = matched.set_index("vehicle_id")
    assert not m.loc["far", "matched"] and np.isnan(m.loc["far", "distance_m"])
    assert m.loc["near", "matched"] and m.loc["near", "shape_key"] == "R|0"
    assert m.loc["near", "distance_m"] == pytest.approx(10, abs=0.1)
    assert m.loc["near", "measure_m"] == pytest.approx(500, abs=0.1)
    q = O.data_quality(matched).set_index("indicator")["value"]
    assert q["far from every route"] == pytest.approx(50.0)
    assert q["without service"] == pytest.approx(100.0)


def test_two_buses_100_m_apart_on_one_service_are_one_bunched_pair():
    pos = positions([
        (1000, 1000, "a", 0, 0, 20.0, "S1", 0, "IN_TRANSIT_TO"),
        (1000, 1000, "b", 100, 0, 20.0, "S1", 0, "IN_TRANSIT_TO"),
        (1000, 1000, "c", 50, 0, 20.0, "S2", 0, "IN_TRANSIT_TO"),      # another service
        (1000, 1000, "d", 150, 0, 20.0, "S1", 1, "IN_TRANSIT_TO"),     # other direction
        (1000, 1000, "e", 60, 0, 0.0, "S1", 0, "IN_TRANSIT_TO"),       # not moving
        (1000, 1000, "f", 900, 0, 20.0, "S1", 0, "IN_TRANSIT_TO"),     # 800 m away
    ])
    b = O.bunching(pos, crs=CRS, distance_m=200)
    assert len(b) == 1
    assert {b["vehicle_a"].iloc[0], b["vehicle_b"].iloc[0]} == {"a", "b"}
    assert b["distance_m"].iloc[0] == pytest.approx(100, abs=0.1)


def test_status_classes():
    pos = pd.DataFrame({"status": ["STOPPED_AT", "IN_TRANSIT_TO", "IN_TRANSIT_TO", ""],
                        "speed_kmh": [0.0, 12.0, 0.0, np.nan]})
    assert list(O.classify_status(pos)) == ["at stop", "moving", "stopped elsewhere", "stopped elsewhere"]


def test_segment_comparison_spreads_a_move_over_segments():
    stops = pd.DataFrame({"shape_key": "R|0", "stop_id": ["A", "B", "C"], "k": [0, 1, 2],
                          "measure_m": [0.0, 1000.0, 2000.0], "stop_lat": [0.0, 0.0, 0.0], "stop_lon": [0.0, 0.01, 0.02]})
    moves = pd.DataFrame({"shape_key": ["R|0"], "measure_1": [500.0], "measure_2": [1500.0],
                          "progress_m": [1000.0], "interval_s": [120.0]})
    sched = pd.DataFrame({"from_stop_id": ["A"], "to_stop_id": ["B"], "trips": [2], "run_s": [480.0]})
    c = O.segment_comparison(moves, stops, sched, min_moves=1).set_index("from_stop_id")
    assert c.loc["A", "observed_m"] == pytest.approx(500) and c.loc["B", "observed_m"] == pytest.approx(500)
    assert c.loc["A", "observed_kmh"] == pytest.approx(30.0)          # 1,000 m in 120 s
    assert c.loc["A", "scheduled_kmh"] == pytest.approx(15.0)         # 1,000 m x 2 runs / 480 s
    assert c.loc["A", "ratio"] == pytest.approx(2.0)
    assert np.isnan(c.loc["B", "scheduled_kmh"]) and c.loc["B", "scheduled_trips"] == 0


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    p = write_feed(tmp_path_factory.mktemp("f") / "feed.zip", timetable_tables())
    return prepare_day(read_feed(p), "20260105", crs=CRS)


def ts(hhmm: str, date: str = "2026-01-05") -> int:
    return int(dt.datetime.fromisoformat(f"{date}T{hhmm}:00").replace(tzinfo=ZoneInfo(TZ)).timestamp())


def test_route_shapes_fall_back_to_stops_and_use_shapes_txt(tmp_path):
    t = timetable_tables()
    day0 = prepare_day(read_feed(write_feed(tmp_path / "a.zip", t)), "20260105", crs=CRS)
    lines, stops = O.route_shapes(day0, modes=["bus"])
    assert list(lines["shape_key"]) == ["B1|0"] and list(lines["source"]) == ["stops"]
    assert list(stops["stop_id"]) == ["S1", "S2", "S3", "S4"] and stops["measure_m"].is_monotonic_increasing
    # a shape with a detour 1 km north half-way: longer than the stop-to-stop line
    t["trips.txt"] = t["trips.txt"].replace("direction_id\n", "direction_id,shape_id\n").replace(",0\n", ",0,SH\n")
    t["shapes.txt"] = ("shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                       "SH,-33.45,-70.70,1\nSH,-33.441,-70.684,2\nSH,-33.45,-70.667765,3\n")
    day1 = prepare_day(read_feed(write_feed(tmp_path / "b.zip", t)), "20260105", crs=CRS)
    lines1, _ = O.route_shapes(day1, modes=["bus"])
    assert list(lines1["source"]) == ["shapes.txt"]
    assert lines1["length_m"].iloc[0] > lines["length_m"].iloc[0] + 100


def test_fleet_against_active_trips(day):
    # at 07:15 buses T1 (07:00-07:18) and T2 (07:10-07:28) are running; T3 starts 07:30
    pos = pd.DataFrame({"snapshot_ts": [ts("07:15")] * 3, "fix_ts": [ts("07:15")] * 3, "vehicle_id": ["a", "b", "c"],
                        "status": ["STOPPED_AT", "IN_TRANSIT_TO", "IN_TRANSIT_TO"], "speed_kmh": [0, 20, 0],
                        "route_id": ["x", "x", "y"]})
    f = O.fleet_vs_schedule(pos, day, timezone=TZ, modes=pd.Series("bus", index=pos.index))
    r = f.iloc[0]
    assert r["time"] == "07:15" and r["seen"] == 3 and r["on_network"] == 3 and r["scheduled"] == 2
    assert r["seen_per_scheduled"] == pytest.approx(1.5)
    assert r["at_stop"] == pytest.approx(100 / 3) and r["moving"] == pytest.approx(100 / 3)


def _trip_updates(path, items):
    from google.transit import gtfs_realtime_pb2 as g

    m = g.FeedMessage()
    m.header.gtfs_realtime_version = "2.0"
    m.header.timestamp = ts("07:45")
    for trip, stop, when in items:
        e = m.entity.add()
        e.id = f"{trip}-{stop}"
        e.trip_update.trip.trip_id = trip
        u = e.trip_update.stop_time_update.add()
        u.stop_id = stop
        u.arrival.time = when
    path.write_bytes(m.SerializeToString())
    return path


def test_punctuality_from_trip_updates(day, tmp_path):
    # scheduled S2 arrivals: T1 07:06, T2 07:16, T3 07:36
    f = _trip_updates(tmp_path / "tu.pb", [("T1", "S2", ts("07:08")),    # +120 s: on time
                                           ("T2", "S2", ts("07:23")),    # +420 s: late
                                           ("T3", "S2", ts("07:34")),    # -120 s: early
                                           ("T3", "S4", ts("07:50"))])   # after the snapshot: a prediction
    tu = R.read_trip_updates([f])
    ev = P.stop_events(day, timezone=TZ, trip_updates=tu).set_index("trip_id")
    assert len(ev) == 3
    assert ev.loc["T1", "delay_s"] == 120 and ev.loc["T2", "delay_s"] == 420 and ev.loc["T3", "delay_s"] == -120
    p = P.punctuality(ev.reset_index()).set_index("class")
    assert list(p["arrivals"]) == [1, 1, 1] and p.loc["on time", "median_delay_s"] == 120


def test_punctuality_from_positions_with_trip_ids(day):
    pos = pd.DataFrame({"snapshot_ts": [ts("07:14")], "fix_ts": [ts("07:13")], "trip_id": ["T1"], "stop_id": ["S3"],
                        "status": ["STOPPED_AT"]})
    ev = P.stop_events(day, timezone=TZ, positions=pos)
    assert ev["delay_s"].tolist() == [60.0] and ev["source"].tolist() == ["positions"]   # S3 scheduled 07:12


def test_headway_regularity():
    ev = pd.DataFrame({"trip_id": ["a", "b", "c"], "route_id": "R", "direction_id": 0, "stop_id": "S",
                       "observed_s": [0.0, 300.0, 1200.0], "scheduled_s": [0.0, 600.0, 1200.0]})
    h = P.headway_regularity(ev).iloc[0]
    assert h["observed_headway_min"] == pytest.approx(10.0) and h["scheduled_headway_min"] == pytest.approx(10.0)
    assert h["cv"] == pytest.approx(np.std([5, 15], ddof=1) / 10)


def test_comparable_date_same_weekday(day):
    from citybridge.observed_view import comparable_date

    # 2026-05-08 (a Friday) is outside the fixture's calendar (2026-01-05..02-01): the nearest typical Friday
    d, note = comparable_date(day.feed, "20260508")
    assert d == "20260130" and "Friday" in str(note)
    assert comparable_date(day.feed, "20260106")[0] == "20260106"


def test_main_patterns_agree_with_network_route_patterns(day):
    from citybridge.network import route_patterns

    cols = ["route_id", "direction_id", "template_id", "trips", "n_stops"]
    a = O.main_patterns(day)[cols].sort_values(["route_id", "direction_id"]).reset_index(drop=True)
    b = route_patterns(day)[cols].sort_values(["route_id", "direction_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_exercises_08_reject_the_known_wrong_method():
    from citybridge import exercises

    moves = pd.DataFrame({"progress_m": [1000.0, 100.0], "interval_s": [120.0, 180.0]})
    moves["speed_kmh"] = moves["progress_m"] / moves["interval_s"] * 3.6      # 30 and 2 km/h
    right = 1100 / 300 * 3.6                                                   # 13.2 km/h
    assert "correct" in exercises.check("08.1", right, moves=moves).text
    assert "not yet" in exercises.check("08.1", moves["speed_kmh"].mean(), moves=moves).text   # 16 km/h
    bunch = pd.DataFrame({"snapshot_ts": [1, 1, 2, 2, 2]})
    assert "correct" in exercises.check("08.2", 3, bunch=bunch).text
    assert "not yet" in exercises.check("08.2", len(bunch), bunch=bunch).text


def test_city_without_realtime_gets_a_plain_statement(tmp_path):
    from citybridge import kpi
    from citybridge import observed_view as V
    from citybridge.city import load_city

    city = tmp_path / "testville"
    write_feed(city / "gtfs.zip", timetable_tables())
    (city / "city.yml").write_text("name: Testville\ncrs: EPSG:32719\n", encoding="utf-8")
    c = load_city(city)
    assert V.analyse(c) is None
    assert "declares no realtime inputs" in V.no_realtime(c) and "realtime record testville" in V.no_realtime(c)
    k = kpi.kpi_table(c, themes=["observed"])
    assert len(k) == 1 and np.isnan(k["value"].iloc[0]) and "not computed" in k["definition"].iloc[0]


def test_santiago_capture_kpis_carry_their_timestamp():
    from citybridge import kpi

    k = kpi.kpi_table("santiago", themes=["observed"]).set_index("kpi")
    # 28,381 positions of distinct vehicles in 4 snapshots (README of data: the real DTPM capture)
    assert k.loc["vehicles seen", "value"] == pytest.approx(28381 / 4)
    assert k["definition"].str.contains("captured 2026-05-08 at 12:42, 12:45, 12:48, 12:57").all()
    assert k["source"].str.contains("BUSES-DTPM").all()


def test_street_segments_merge_routes_between_the_same_stops():
    from citybridge.observed_view import street_segments

    seg = pd.DataFrame({"shape_key": ["A|0", "B|0"], "from_stop_id": "S1", "to_stop_id": "S2", "moves": [1, 2],
                        "observed_m": [500.0, 500.0], "observed_s": [60.0, 120.0], "scheduled_kmh": [30.0, 10.0],
                        "from_lat": 0.0, "from_lon": 0.0, "to_lat": 0.0, "to_lon": 0.01})
    s = street_segments(seg).iloc[0]
    assert s["routes"] == 2 and s["moves"] == 3
    assert s["observed_kmh"] == pytest.approx(20.0)        # 1,000 m in 180 s
    assert s["scheduled_kmh"] == pytest.approx(20.0) and s["ratio"] == pytest.approx(1.0)


# ------------------------------------------------------------------ sentences in every edition's language

def _obs_for_sentences():
    """A hand-made observed day: 3 segments (median observed 20 km/h, one below 80% of schedule), 1,234 moves,
    3 bunched pairs in 2 snapshots, 4 arrivals (2 on time), headway CVs 0.2 and 0.4."""
    from types import SimpleNamespace

    seg = pd.DataFrame({"observed_kmh": [10.0, 20.0, 30.0], "scheduled_kmh": [20.0, 20.0, 20.0],
                        "ratio": [0.5, 1.0, 1.5]})
    return SimpleNamespace(
        segments=seg, moves=pd.DataFrame({"m": range(1234)}),
        bunching=pd.DataFrame({"snapshot_ts": [1, 1, 2]}), positions=pd.DataFrame({"route_id": ["A", "B"]}),
        fleet=pd.DataFrame({"snapshot_ts": [1, 2]}), settings={"bunch_distance_m": 200.0},
        events=pd.DataFrame({"delay_s": [0.0]}),
        punctuality=pd.DataFrame({"class": ["early", "on time", "late"], "arrivals": [1, 2, 1],
                                  "share": [25.0, 50.0, 25.0], "median_delay_s": [90.0] * 3}),
        headways=pd.DataFrame({"cv": [0.2, 0.4]}))


SENTENCES = {
    ("speed_sentence", "en"): "1,234 moves between consecutive fresh fixes give observed speeds on 3 segments that also "
    "have scheduled runs in the same hour: median observed 20.0 km/h against median scheduled 20.0 km/h; 33% of these "
    "segments run below 80% of their scheduled speed.",
    ("speed_sentence", "es"): "1.234 desplazamientos entre posiciones recientes consecutivas dan velocidades observadas "
    "en 3 tramos que también tienen recorridos programados en la misma hora: mediana observada de 20,0 km/h frente a "
    "una mediana programada de 20,0 km/h; el 33% de estos tramos circula por debajo del 80% de su velocidad programada.",
    ("speed_sentence", "zh"): "相邻两次有效定位之间的 1,234 段行驶，给出了 3 个同一小时内也有计划运行的路段的实测速度："
    "实测速度中位数 20.0 km/h，计划速度中位数 20.0 km/h；其中 33% 的路段低于计划速度的 80%。",
    ("bunching_sentence", "en"): "3 bunched pairs in 2 snapshots (between 1 and 2 per snapshot): moving buses of the "
    "same service and direction less than 200 m apart, by the service code the feed carries.",
    ("bunching_sentence", "es"): "3 pares de buses apelotonados en 2 capturas (entre 1 y 2 por captura): buses en "
    "movimiento del mismo servicio y sentido a menos de 200 m entre sí, según el código de servicio que trae el feed.",
    ("bunching_sentence", "zh"): "2 个快照中共有 3 对串车（每个快照 1 至 2 对）：按数据所带线路编码，同一线路、同一方向"
    "行驶中相距不到 200 米的公交车。",
    ("punctuality_sentence", "en"): "4 observed arrivals: 50% on time (1 min early to 5 min late), 25% late, 25% early; "
    "median delay 1.5 min. Headways at 2 stops have a median coefficient of variation of 0.30 (0 is perfectly regular).",
    ("punctuality_sentence", "es"): "4 llegadas observadas: 50% a tiempo (de 1 min antes a 5 min después), 25% "
    "atrasadas, 25% adelantadas; atraso mediano de 1,5 min. Los intervalos en 2 paraderos tienen un coeficiente de "
    "variación mediano de 0,30 (0 es perfectamente regular).",
    ("punctuality_sentence", "zh"): "共观测到 4 次到站：准点 50%（早到 1 分钟至晚到 5 分钟以内），晚点 25%，早到 25%；"
    "延误中位数 1.5 分钟。2 个站点的发车间隔变异系数中位数为 0.30（0 表示完全规律）。",
}


@pytest.mark.parametrize("name, lang", sorted(SENTENCES))
def test_observed_sentences_in_each_language(name, lang):
    from citybridge import i18n
    from citybridge import observed_report as OR

    with i18n.use_language(lang):
        assert getattr(OR, name)(_obs_for_sentences()) == SENTENCES[name, lang]


def test_comparable_date_note_is_translated_when_shown(day):
    from citybridge import i18n
    from citybridge.observed_view import comparable_date

    _, note = comparable_date(day.feed, "20260106")
    assert str(note) == "the capture's own date, Tuesday 2026-01-06, is in the feed's calendar"
    with i18n.use_language("es"):
        assert str(note) == "la fecha misma de la captura, martes 2026-01-06, está en el calendario del feed"
    with i18n.use_language("zh"):
        assert str(note) == "采集当天（星期二 2026-01-06）在数据源的日历内"
